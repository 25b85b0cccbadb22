/**
 * NYSE trading sessions. Pure: built from session rows, answers date questions.
 *
 * Conventions used throughout:
 * - a *date* is a calendar date `YYYY-MM-DD`, always meaning the day in America/New_York;
 * - an *instant* is a JS `Date` or an ISO-8601 UTC string (`2018-02-07T14:30:00Z`).
 *
 * luxon supplies the time-zone rules (DST). Nothing here reads the clock: time always comes in as
 * an argument.
 */
import { DateTime } from 'luxon';

/** One NYSE session. `date` is the session date in America/New_York; open/close are ISO-8601 UTC instants. */
export interface Session {
  date: string;
  openUtc: string;
  closeUtc: string;
}

/** IANA zone of the NYSE. */
export const NEW_YORK_ZONE = 'America/New_York';

const DATE_SHAPE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** ISO-8601 instant with an explicit UTC offset, e.g. `1990-01-02T14:30:00Z` or `...14:30:00.000+00:00`. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Days per month in a common year (February: see isCalendarDate). */
const DAYS_IN_MONTH: readonly number[] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * newYorkDate's answers by epoch ms (a pure function of it): a run asks for the date of the same
 * few instants (the clock's present, session opens) many times per step, and luxon's zone lookup is
 * slow. Bounded: cleared when full.
 */
const newYorkDates = new Map<number, string>();
const NEW_YORK_DATES_KEPT = 10_000;

/**
 * True when `text` is a real calendar date written exactly `YYYY-MM-DD` (e.g. `2016-02-29` yes,
 * `2015-02-29`, `2016-2-3`, `2016-02-03T00:00:00Z` no). Years 0001…9999.
 */
export function isCalendarDate(text: string): boolean {
  const match = DATE_SHAPE.exec(text);
  if (!match) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : (DAYS_IN_MONTH[month - 1] ?? 0);
  return day <= daysInMonth;
}

/**
 * Throws unless `value` is a real calendar date `YYYY-MM-DD`.
 * @param field name used in the error, e.g. `asOf`.
 * @throws Error `asOf must be a calendar date YYYY-MM-DD, got "2018-13-01"`.
 */
export function assertCalendarDate(field: string, value: string): void {
  if (typeof value !== 'string' || !isCalendarDate(value)) {
    throw new Error(`${field} must be a calendar date YYYY-MM-DD, got ${JSON.stringify(value)}`);
  }
}

function assertInstant(field: string, instant: Date): number {
  const ms = instant instanceof Date ? instant.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new Error(`${field} must be a valid Date, got ${String(instant)}`);
  }
  return ms;
}

/**
 * New York calendar date (YYYY-MM-DD) of a UTC instant, via luxon zone America/New_York.
 * E.g. `2018-02-08T03:00:00Z` → `2018-02-07` (22:00 EST the evening before).
 * @throws Error when `instant` is not a valid Date.
 */
export function newYorkDate(instant: Date): string {
  const ms = assertInstant('instant', instant);
  const known = newYorkDates.get(ms);
  if (known !== undefined) return known;
  const date = DateTime.fromMillis(ms, { zone: NEW_YORK_ZONE }).toISODate();
  if (date === null) throw new Error(`instant ${instant.toISOString()} has no New York date`);
  if (newYorkDates.size >= NEW_YORK_DATES_KEPT) newYorkDates.clear();
  newYorkDates.set(ms, date);
  return date;
}

/**
 * The UTC instant of a New York wall-clock time on a date, e.g. (2018-02-07, 9, 0) →
 * 2018-02-07T14:00:00.000Z in winter (EST, UTC−5) and (2018-07-09, 9, 0) → 2018-07-09T13:00:00.000Z
 * in summer (EDT, UTC−4). A wall time that does not exist (inside the spring-forward gap, 02:00–03:00
 * on the DST start date) is moved forward by luxon to the next existing time.
 * @param date New York calendar date `YYYY-MM-DD`.
 * @param hour 0–23, New York wall clock.
 * @param minute 0–59.
 * @throws Error naming the argument and value when date, hour or minute is invalid.
 */
export function newYorkTime(date: string, hour: number, minute: number): Date {
  assertCalendarDate('date', date);
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) {
    throw new Error(`hour must be an integer 0-23, got ${String(hour)}`);
  }
  if (!Number.isInteger(minute) || minute < 0 || minute > 59) {
    throw new Error(`minute must be an integer 0-59, got ${String(minute)}`);
  }
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const dt = DateTime.fromObject({ year, month, day, hour, minute }, { zone: NEW_YORK_ZONE });
  if (!dt.isValid) throw new Error(`${date} ${hour}:${minute} is not a valid New York time: ${dt.invalidExplanation}`);
  return dt.toJSDate();
}

/** Index of the first element of the ascending array `values` that is > `key` (or `values.length`). */
function upperBound<T>(values: readonly T[], key: T): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as T) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element of the ascending array `values` that is ≥ `key` (or `values.length`). */
function lowerBound<T>(values: readonly T[], key: T): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as T) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The NYSE session calendar over a fixed coverage `first.date … last.date` (inclusive).
 *
 * Outside that coverage the calendar knows nothing, so every query about a date (or an instant whose
 * New York date) outside coverage throws a RangeError
 * `2024-01-02 is outside calendar coverage 1990-01-02..2023-01-13` instead of guessing; only
 * `covers()` answers for any date. Answers that would lie beyond coverage (the session before the
 * first one, the session after the last one) are `undefined`.
 *
 * Lookups are binary searches over the sorted session dates (and over open/close instants).
 */
export class TradingCalendar {
  /** Earliest session in the calendar. */
  readonly first: Session;
  /** Latest session in the calendar. */
  readonly last: Session;
  private readonly sessions: readonly Session[];
  private readonly dates: readonly string[];
  private readonly openMs: readonly number[];
  private readonly closeMs: readonly number[];

  /**
   * @param sessions every session of the coverage, strictly ascending by date. Each needs a real
   *   `YYYY-MM-DD` date and ISO-8601 UTC `openUtc` < `closeUtc`. The calendar keeps frozen copies.
   * @throws Error when `sessions` is empty, a date or instant is invalid, open is not before close,
   *   or dates are unsorted or duplicated (the message names the index and the dates).
   */
  constructor(sessions: readonly Session[]) {
    if (!Array.isArray(sessions) || sessions.length === 0) {
      throw new Error('TradingCalendar needs at least one session, got none');
    }
    const copies: Session[] = [];
    const dates: string[] = [];
    const openMs: number[] = [];
    const closeMs: number[] = [];
    sessions.forEach((session, index) => {
      const where = `sessions[${index}]`;
      assertCalendarDate(`${where}.date`, session.date);
      const open = ISO_INSTANT.test(session.openUtc) ? Date.parse(session.openUtc) : Number.NaN;
      const close = ISO_INSTANT.test(session.closeUtc) ? Date.parse(session.closeUtc) : Number.NaN;
      if (!Number.isFinite(open)) {
        throw new Error(`${where}.openUtc must be an ISO-8601 UTC instant, got ${JSON.stringify(session.openUtc)}`);
      }
      if (!Number.isFinite(close)) {
        throw new Error(`${where}.closeUtc must be an ISO-8601 UTC instant, got ${JSON.stringify(session.closeUtc)}`);
      }
      if (open >= close) {
        throw new Error(`${where} (${session.date}) opens at ${session.openUtc}, not before its close ${session.closeUtc}`);
      }
      if (newYorkDate(new Date(open)) !== session.date) {
        throw new Error(`${where}.openUtc ${session.openUtc} is not on ${session.date} in New York`);
      }
      const previous = dates[dates.length - 1];
      if (previous !== undefined && session.date <= previous) {
        const what = session.date === previous ? 'duplicates' : 'is before';
        throw new Error(`${where}.date ${session.date} ${what} the previous session ${previous}; sessions must be strictly ascending`);
      }
      const previousClose = closeMs[closeMs.length - 1];
      if (previousClose !== undefined && open <= previousClose) {
        throw new Error(`${where} (${session.date}) opens at ${session.openUtc}, before the previous session closed`);
      }
      copies.push(Object.freeze({ date: session.date, openUtc: session.openUtc, closeUtc: session.closeUtc }));
      dates.push(session.date);
      openMs.push(open);
      closeMs.push(close);
    });
    this.sessions = Object.freeze(copies);
    this.dates = Object.freeze(dates);
    this.openMs = Object.freeze(openMs);
    this.closeMs = Object.freeze(closeMs);
    this.first = copies[0] as Session;
    this.last = copies[copies.length - 1] as Session;
  }

  /** True when `first.date <= date <= last.date`. @throws Error when `date` is not `YYYY-MM-DD`. */
  covers(date: string): boolean {
    assertCalendarDate('date', date);
    return this.first.date <= date && date <= this.last.date;
  }

  /** True when the NYSE trades on `date`. @throws RangeError when `date` is outside coverage. */
  isSession(date: string): boolean {
    this.assertCovered(date);
    const i = lowerBound(this.dates, date);
    return this.dates[i] === date;
  }

  /**
   * The session on `date`.
   * @throws RangeError `${date} is outside calendar coverage first..last`;
   *   Error `${date} is not an NYSE session` (weekend or holiday).
   */
  session(date: string): Session {
    this.assertCovered(date);
    const i = lowerBound(this.dates, date);
    const session = this.sessions[i];
    if (session === undefined || session.date !== date) {
      throw new Error(`${date} is not an NYSE session`);
    }
    return session;
  }

  /**
   * The latest session strictly before `date` (`date` need not be a session: the session before
   * Monday 2018-01-15, MLK day, is Friday 2018-01-12). `undefined` when `date` is the first
   * session's date (the answer is before coverage).
   * @throws RangeError when `date` is outside coverage.
   */
  previousSession(date: string): Session | undefined {
    this.assertCovered(date);
    return this.sessions[lowerBound(this.dates, date) - 1];
  }

  /**
   * The earliest session strictly after `date` (`date` need not be a session). `undefined` when
   * `date` is the last session's date (the answer is after coverage).
   * @throws RangeError when `date` is outside coverage.
   */
  nextSession(date: string): Session | undefined {
    this.assertCovered(date);
    return this.sessions[upperBound(this.dates, date)];
  }

  /**
   * Sessions with `from <= date <= to`, ascending (empty when none, e.g. a weekend).
   * @throws RangeError when `from` or `to` is outside coverage; Error when `from > to`.
   */
  sessionsBetween(from: string, to: string): Session[] {
    this.assertCovered(from, 'from');
    this.assertCovered(to, 'to');
    if (from > to) throw new Error(`from ${from} is after to ${to}`);
    return this.sessions.slice(lowerBound(this.dates, from), upperBound(this.dates, to));
  }

  /**
   * The session whose [openUtc, closeUtc] contains the instant (both ends inclusive), or undefined
   * when the market is closed at that instant.
   * @throws RangeError when the instant's New York date is outside coverage; Error for an invalid Date.
   */
  sessionAt(instant: Date): Session | undefined {
    const ms = assertInstant('instant', instant);
    this.assertCovered(newYorkDate(instant), 'instant');
    const i = upperBound(this.openMs, ms) - 1;
    if (i < 0) return undefined;
    return ms <= (this.closeMs[i] as number) ? this.sessions[i] : undefined;
  }

  /**
   * The latest session whose close is ≤ instant (for an instant during a session, the session before
   * it); undefined when no session of the calendar has closed yet.
   * @throws RangeError when the instant's New York date is outside coverage; Error for an invalid Date.
   */
  lastClosedSessionAt(instant: Date): Session | undefined {
    const ms = assertInstant('instant', instant);
    this.assertCovered(newYorkDate(instant), 'instant');
    return this.sessions[upperBound(this.closeMs, ms) - 1];
  }

  private assertCovered(date: string, field = 'date'): void {
    assertCalendarDate(field, date);
    if (date < this.first.date || date > this.last.date) {
      throw new RangeError(`${date} is outside calendar coverage ${this.first.date}..${this.last.date}`);
    }
  }
}
