/** The source of the current instant: injected so schedules can be tested without waiting. */
export interface Clock {
  now(): Date;
}

/** The real wall clock. */
export const systemClock: Clock = {
  now: () => new Date(),
};
