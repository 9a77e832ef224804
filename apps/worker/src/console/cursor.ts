/**
 * Opaque keyset cursors: base64url JSON of where a page ended (an instant and an id) and
 * which listing issued it. Clients pass them back unchanged; anything else is refused.
 */
export type CursorKind = 'runs' | 'audit' | 'emails';

export interface CursorPosition {
  /** Milliseconds since the epoch of the last row's sort instant (unused by `emails`). */
  readonly at: number;
  readonly id: string;
}

export class CursorError extends Error {
  override readonly name = 'CursorError';
}

export function encodeCursor(kind: CursorKind, position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ v: 1, k: kind, t: position.at, i: position.id }), 'utf8').toString('base64url');
}

export function decodeCursor(kind: CursorKind, cursor: string): CursorPosition {
  const invalid = new CursorError(`cursor is malformed: pass back the nextCursor of a ${kind} page unchanged`);
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/u.test(cursor)) throw invalid;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof decoded !== 'object' || decoded === null) throw invalid;
  const fields = decoded as Record<string, unknown>;
  if (fields.v !== 1 || typeof fields.t !== 'number' || !Number.isFinite(fields.t)) throw invalid;
  if (typeof fields.i !== 'string' || fields.i.length === 0 || fields.i.length > 200) throw invalid;
  if (fields.k !== kind) {
    throw new CursorError(`cursor belongs to another listing (${String(fields.k)}), not to ${kind}`);
  }
  return { at: fields.t, id: fields.i };
}
