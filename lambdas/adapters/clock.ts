/** Clocks: the system clock in Lambda, a simulated clock for local replays of history. */
import type { Clock } from '../ports';

export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
}

/**
 * Simulated time that only moves forward, set by the local runner (session pre-open, then the
 * instant a Wait state would have resumed at).
 */
export class SimClock implements Clock {
  private current: number;

  constructor(start: Date) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves to `instant` if it is later; never goes back. */
  advanceTo(instant: Date): void {
    if (Number.isNaN(instant.getTime())) throw new Error('SimClock.advanceTo: invalid date');
    this.current = Math.max(this.current, instant.getTime());
  }
}
