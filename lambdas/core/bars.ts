/**
 * Daily OHLCV bars: the raw row shape read from a market-data source, the validated bar, and the
 * checks that decide whether a symbol's bars can be trusted for a session.
 *
 * Pure: no I/O, no clock. Dates are NYSE session dates `YYYY-MM-DD` (America/New_York).
 */
import { assertCalendarDate, isCalendarDate } from './calendar';

/**
 * One data row exactly as the source gave it: every field is the raw text ('' when missing),
 * so validation can name the field and the value it refused.
 */
export interface RawBarRow {
  /** 1-based line number in the source file (header is line 1), or the row's position for APIs. */
  line: number;
  date: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

/** A validated daily bar. Prices in USD per share (split-adjusted as the source gives them); volume in shares. */
export interface Bar {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/**
 * Why a row (or a session) is not trusted.
 *
 * Row rules, found by `validateBarRows` in one raw row: MISSING_FIELD … DATE_NOT_INCREASING.
 * Series rules, found by `checkBarSeries` (`./data-quality`) across the validated bars and the NYSE
 * session calendar: NON_SESSION_DATE, MISSING_SESSION, STALE_LAST_BAR, ZERO_VOLUME, EXTREME_WICK,
 * SPLIT_LIKE_JUMP, REPEATED_BAR (see that module for each rule's threshold and its source).
 */
export type BarDefectRule =
  | 'MISSING_FIELD'
  | 'NON_NUMERIC'
  | 'NON_POSITIVE_PRICE'
  | 'NEGATIVE_VOLUME'
  | 'LOW_ABOVE_HIGH'
  | 'OPEN_OUTSIDE_RANGE'
  | 'CLOSE_OUTSIDE_RANGE'
  | 'BAD_DATE'
  | 'DATE_NOT_INCREASING'
  | 'NON_SESSION_DATE'
  | 'MISSING_SESSION'
  | 'STALE_LAST_BAR'
  | 'ZERO_VOLUME'
  | 'EXTREME_WICK'
  | 'SPLIT_LIKE_JUMP'
  | 'REPEATED_BAR';

/**
 * One problem found in one raw row (row rules; a row may have several) or in the series of validated
 * bars (series rules, see `BarDefectRule`).
 */
export interface BarDefect {
  /**
   * Source line of the offending row (`RawBarRow.line`). Series rules: the line of the bar concerned;
   * for MISSING_SESSION the line of the first bar after the hole, for STALE_LAST_BAR the line of the
   * last bar (0 when the bars carry no `barLines`).
   */
  line: number;
  /**
   * Anchor date `YYYY-MM-DD` used to decide which sessions are affected: the row's own date, or, when
   * the row's date is missing or not a real date (MISSING_FIELD/BAD_DATE on `date`, and every other
   * defect of such a row), the date of the previous valid row ('' when there is none).
   * Series rules: the date of the bar concerned; for MISSING_SESSION the missing session, for
   * STALE_LAST_BAR the first session after the last bar (the first session with no bar).
   */
  date: string;
  rule: BarDefectRule;
  /** 'open' | 'high' | 'low' | 'close' | 'volume' | 'date'. */
  field: string;
  /**
   * The raw text refused, exactly as the row gave it. Series rules work on parsed bars: the number as
   * JavaScript prints it (`56.4` for a source `56.40`), a date, or '' for a session with no row.
   */
  value: string;
  /**
   * Human sentence naming the date, field and value, ending with the source line, e.g.
   * `2016-05-19 close 17.87 is outside [low 35.085, high 35.785] (line 827)`.
   */
  message: string;
  /**
   * Sessions the defect matters for, when it is limited: `selectDecisionWindow` then counts it only
   * when it lies among the last `horizon` bars of the window (a bar that only perturbs long
   * averages once it is older, e.g. a REPEATED_BAR; see core/data-quality). Absent: anywhere in the
   * window counts.
   */
  horizon?: number;
}

/** Result of validating a symbol's rows: the accepted bars and every defect found. */
export interface ValidatedBars {
  /** Defect-free bars, strictly ascending by date (source order). */
  bars: Bar[];
  /** Every defect, in source order (within a row: date first, then fields, then range checks). */
  defects: BarDefect[];
  /**
   * Source line of each bar, parallel to `bars`. Filled by `validateBarRows`; optional so that
   * hand-built values stay valid. Used to place defects whose anchor date is unknown.
   */
  barLines?: number[];
}

/**
 * Optional capability of a market-data adapter (e.g. CsvMarketData): `validateBarRows` of the
 * symbol's rows, cached by the adapter while its source is unchanged. The result is shared between
 * callers, so it must be treated as read-only (CsvMarketData freezes it). fetch uses it when the
 * adapter has it, else validates `loadDailyRows` itself; the bars and defects are the same.
 */
export interface ValidatedBarsSource {
  /** @throws as `MarketDataPort.loadDailyRows` (MarketDataError for a missing or unreadable symbol). */
  loadValidatedBars(symbol: string): Promise<ValidatedBars>;
}

/** True when `source` offers `loadValidatedBars` (see ValidatedBarsSource). */
export function hasValidatedBars(source: object): source is ValidatedBarsSource {
  return typeof (source as Partial<ValidatedBarsSource>).loadValidatedBars === 'function';
}

const PRICE_FIELDS = ['open', 'high', 'low', 'close'] as const;
const NUMBER_FIELDS = [...PRICE_FIELDS, 'volume'] as const;
type NumberField = (typeof NUMBER_FIELDS)[number];

/** Plain decimal notation: optional sign, digits with optional fraction. No exponent, no NaN/Infinity, no hex. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * Validates a symbol's raw rows (as read from the source, in source order) into bars plus defects.
 * Never throws for bad data: every problem becomes a `BarDefect`, and a row with any defect is left
 * out of `bars`. Field text is trimmed before checking.
 *
 * Checks per row:
 * - `date` empty/whitespace → MISSING_FIELD; not a real calendar date `YYYY-MM-DD` → BAD_DATE;
 * - a valid date ≤ the date of the previous accepted bar → DATE_NOT_INCREASING (duplicates and
 *   out-of-order rows both; the comparison is with the last row that made it into `bars`);
 * - each of open/high/low/close/volume empty/whitespace → MISSING_FIELD; not a finite plain decimal
 *   number (`1e400`, `NaN`, `12abc`, `0x10`) → NON_NUMERIC;
 * - open/high/low/close ≤ 0 → NON_POSITIVE_PRICE; volume < 0 → NEGATIVE_VOLUME (0 is allowed);
 * - low > high → LOW_ABOVE_HIGH (then open/close range checks are skipped: there is no range);
 *   otherwise open outside [low, high] → OPEN_OUTSIDE_RANGE, close outside → CLOSE_OUTSIDE_RANGE.
 *
 * Prices are USD per share, volume in shares, dates NYSE session dates (America/New_York).
 */
export function validateBarRows(rows: readonly RawBarRow[]): ValidatedBars {
  const bars: Bar[] = [];
  const barLines: number[] = [];
  const defects: BarDefect[] = [];
  let lastDate = '';

  for (const row of rows) {
    const rowDefects: BarDefect[] = [];
    const line = row.line;
    const rawDate = String(row.date ?? '');
    const dateText = rawDate.trim();
    const dateOk = isCalendarDate(dateText);
    const anchor = dateOk ? dateText : lastDate;
    const label = dateOk ? dateText : dateText === '' ? 'row with no date' : `row dated ${JSON.stringify(dateText)}`;
    const add = (rule: BarDefectRule, field: string, value: string, sentence: string): void => {
      rowDefects.push({ line, date: anchor, rule, field, value, message: `${sentence} (line ${line})` });
    };
    const after = lastDate === '' ? 'first row' : `previous valid row ${lastDate}`;

    if (dateText === '') {
      add('MISSING_FIELD', 'date', rawDate, `date is missing (got ${JSON.stringify(rawDate)}; ${after})`);
    } else if (!dateOk) {
      add('BAD_DATE', 'date', rawDate, `date ${JSON.stringify(dateText)} is not a real calendar date YYYY-MM-DD (${after})`);
    } else if (lastDate !== '' && dateText <= lastDate) {
      const how = dateText === lastDate ? 'repeats' : 'is before';
      add('DATE_NOT_INCREASING', 'date', rawDate, `${dateText} date ${how} the previous valid row's date ${lastDate}`);
    }

    const text: Partial<Record<NumberField, string>> = {};
    const num: Partial<Record<NumberField, number>> = {};
    for (const field of NUMBER_FIELDS) {
      const raw = String(row[field] ?? '');
      const trimmed = raw.trim();
      text[field] = trimmed;
      if (trimmed === '') {
        add('MISSING_FIELD', field, raw, `${label} ${field} is missing (got ${JSON.stringify(raw)})`);
        continue;
      }
      const value = DECIMAL.test(trimmed) ? Number(trimmed) : Number.NaN;
      if (!Number.isFinite(value)) {
        add('NON_NUMERIC', field, raw, `${label} ${field} ${JSON.stringify(trimmed)} is not a finite decimal number`);
        continue;
      }
      num[field] = value + 0; // + 0 turns -0 into 0
    }

    for (const field of PRICE_FIELDS) {
      const value = num[field];
      if (value !== undefined && value <= 0) {
        add('NON_POSITIVE_PRICE', field, String(row[field]), `${label} ${field} ${text[field]} is not a positive price`);
      }
    }
    if (num.volume !== undefined && num.volume < 0) {
      add('NEGATIVE_VOLUME', 'volume', String(row.volume), `${label} volume ${text.volume} is negative`);
    }
    const { open, high, low, close, volume } = num;
    if (low !== undefined && high !== undefined) {
      const range = `[low ${text.low}, high ${text.high}]`;
      if (low > high) {
        add('LOW_ABOVE_HIGH', 'low', String(row.low), `${label} low ${text.low} is above high ${text.high}`);
      } else {
        if (open !== undefined && (open < low || open > high)) {
          add('OPEN_OUTSIDE_RANGE', 'open', String(row.open), `${label} open ${text.open} is outside ${range}`);
        }
        if (close !== undefined && (close < low || close > high)) {
          add('CLOSE_OUTSIDE_RANGE', 'close', String(row.close), `${label} close ${text.close} is outside ${range}`);
        }
      }
    }

    if (rowDefects.length > 0) {
      defects.push(...rowDefects);
      continue;
    }
    // No defect means every field parsed.
    bars.push({ date: dateText, open: open as number, high: high as number, low: low as number, close: close as number, volume: volume as number });
    barLines.push(line);
    lastDate = dateText;
  }
  return { bars, defects, barLines };
}

/** What `selectDecisionWindow` is asked for. Dates are NYSE session dates `YYYY-MM-DD`. */
export interface DecisionWindowRequest {
  /** The session D being decided; only bars dated strictly before D are used. */
  asOf: string;
  /** Keep at most this many most-recent bars before D (positive integer). */
  lookbackBars: number;
  /** Fewer valid bars in the window → not usable (integer, 0 ≤ minBars ≤ lookbackBars). */
  minBars: number;
  /** When given, the last bar must be dated exactly this (else the data is stale); must be < asOf. */
  previousSession?: string;
}

/**
 * The bars a decision for session `asOf` may use, or why there are none.
 * `reason` always starts with the code and a colon (`STALE_DATA: ...`) and names the date/field/value.
 */
export type DecisionWindow =
  | { ok: true; bars: Bar[] } // ascending, all dated < asOf, length ≤ lookbackBars
  | { ok: false; code: 'BAD_BARS' | 'INSUFFICIENT_HISTORY' | 'STALE_DATA' | 'NO_DATA'; reason: string };

/** Index of the first bar dated ≥ `date` in the ascending `bars` (or `bars.length`). */
function firstBarOnOrAfter(bars: readonly Bar[], date: string): number {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bars[mid] as Bar).date < date) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function assertWindowRequest(request: DecisionWindowRequest): void {
  assertCalendarDate('asOf', request.asOf);
  const { lookbackBars, minBars, previousSession } = request;
  if (!Number.isInteger(lookbackBars) || lookbackBars < 1) {
    throw new Error(`lookbackBars must be a positive integer, got ${String(lookbackBars)}`);
  }
  if (!Number.isInteger(minBars) || minBars < 0) {
    throw new Error(`minBars must be a non-negative integer, got ${String(minBars)}`);
  }
  if (minBars > lookbackBars) {
    throw new Error(`minBars ${minBars} exceeds lookbackBars ${lookbackBars}: no window could ever be usable`);
  }
  if (previousSession !== undefined) {
    assertCalendarDate('previousSession', previousSession);
    if (previousSession >= request.asOf) {
      throw new Error(`previousSession ${previousSession} must be before asOf ${request.asOf}`);
    }
  }
}

/**
 * Picks the decision window for session `asOf`: the last `lookbackBars` valid bars dated < asOf.
 * Checks, in this order:
 * 1. no valid bar before asOf → `NO_DATA: no valid bars before 2013-02-08 (first valid bar 2013-02-08)`;
 * 2. a defect anchored inside the window's sessions, i.e. `date` in [first window bar date, asOf) —
 *    or, for a defect whose anchor is empty/unparseable, a source line between the window's first and
 *    last bar lines (always, when `barLines` is absent) → `BAD_BARS: <first defect's message>` plus
 *    ` (+N more)` when N more defects are affected. Defects older than the window, or dated on/after
 *    asOf, do not count: a symbol is quarantined only for the sessions whose window holds a defect
 *    (row defects and series defects alike, e.g. a MISSING_SESSION anchored at the missing session).
 *    STALE_LAST_BAR defects are left to step 4;
 * 3. fewer than minBars bars → `INSUFFICIENT_HISTORY: 37 valid bars before 2013-04-05, need 60`;
 * 4. stale data: a STALE_LAST_BAR defect anchored inside the window → `STALE_DATA: <its message>`
 *    (it names the last bar's date and line, the session decided and the expected bar date); else,
 *    previousSession given and the last bar is not dated exactly that →
 *    `STALE_DATA: last bar 2017-12-29, expected 2018-02-06`.
 *
 * @param validated output of `validateBarRows` (bars strictly ascending by date), optionally with
 *   series defects merged in (`withSeriesChecks` in `./data-quality`).
 * @returns `{ ok: true, bars }` with a fresh array (ascending, all dated < asOf, length ≤ lookbackBars).
 * @throws Error naming the field and value when the request itself is invalid (asOf/previousSession
 *   not `YYYY-MM-DD`, previousSession ≥ asOf, lookbackBars not a positive integer, minBars not an
 *   integer in [0, lookbackBars]). Bad market data never throws.
 */
export function selectDecisionWindow(validated: ValidatedBars, request: DecisionWindowRequest): DecisionWindow {
  assertWindowRequest(request);
  const { asOf, lookbackBars, minBars, previousSession } = request;
  const { bars, defects, barLines } = validated;

  const end = firstBarOnOrAfter(bars, asOf);
  if (end === 0) {
    const first = bars[0];
    const detail = first
      ? `first valid bar ${first.date}`
      : `no valid bars at all${defects.length > 0 ? `; ${defects.length} defect(s), first: ${defects[0]?.message}` : ''}`;
    return { ok: false, code: 'NO_DATA', reason: `NO_DATA: no valid bars before ${asOf} (${detail})` };
  }
  const start = Math.max(0, end - lookbackBars);
  const window = bars.slice(start, end);
  const firstDate = (window[0] as Bar).date;
  const lastBar = window[window.length - 1] as Bar;
  const firstLine = barLines?.[start];
  const lastLine = barLines?.[end - 1];

  const affected = defects.filter((defect) => {
    if (defect.horizon !== undefined && isCalendarDate(defect.date)) {
      const from = (window[Math.max(0, window.length - defect.horizon)] as Bar).date;
      return defect.date >= from && defect.date < asOf;
    }
    if (isCalendarDate(defect.date)) return defect.date >= firstDate && defect.date < asOf;
    if (firstLine === undefined || lastLine === undefined) return true;
    return defect.line >= firstLine && defect.line <= lastLine;
  });
  // A stale tail is judged by step 4, so that it keeps its own code.
  const stale = affected.filter((defect) => defect.rule === 'STALE_LAST_BAR');
  const bad = affected.filter((defect) => defect.rule !== 'STALE_LAST_BAR');
  if (bad.length > 0) {
    const more = bad.length > 1 ? ` (+${bad.length - 1} more)` : '';
    return { ok: false, code: 'BAD_BARS', reason: `BAD_BARS: ${(bad[0] as BarDefect).message}${more}` };
  }
  if (window.length < minBars) {
    return {
      ok: false,
      code: 'INSUFFICIENT_HISTORY',
      reason: `INSUFFICIENT_HISTORY: ${window.length} valid bars before ${asOf}, need ${minBars}`,
    };
  }
  const staleDefect = stale[0];
  if (staleDefect !== undefined) {
    return { ok: false, code: 'STALE_DATA', reason: `STALE_DATA: ${staleDefect.message}` };
  }
  if (previousSession !== undefined && lastBar.date !== previousSession) {
    return { ok: false, code: 'STALE_DATA', reason: `STALE_DATA: last bar ${lastBar.date}, expected ${previousSession}` };
  }
  return { ok: true, bars: window };
}

/**
 * The valid bar dated exactly `date` (binary search over the ascending bars), or undefined when that
 * date has no valid bar (no row, or the row had a defect). Used by the paper broker to fill orders.
 * @throws Error when `date` is not a calendar date `YYYY-MM-DD`.
 */
export function barOn(validated: ValidatedBars, date: string): Bar | undefined {
  assertCalendarDate('date', date);
  const bar = validated.bars[firstBarOnOrAfter(validated.bars, date)];
  return bar !== undefined && bar.date === date ? bar : undefined;
}
