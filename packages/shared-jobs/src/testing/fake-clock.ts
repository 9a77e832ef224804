import type { Clock } from '../clock.js';

/** A clock that moves only when told to. */
export class FakeClock implements Clock {
  private currentMs: number;

  constructor(start: Date = new Date('2026-01-01T00:00:00.000Z')) {
    this.currentMs = start.getTime();
  }

  now(): Date {
    return new Date(this.currentMs);
  }

  advance(milliseconds: number): Date {
    this.currentMs += milliseconds;
    return this.now();
  }

  set(instant: Date): void {
    this.currentMs = instant.getTime();
  }
}
