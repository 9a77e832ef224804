export async function runDemo(_options: { durationSeconds: number }): Promise<void> { throw new Error("demo: not written yet"); }
