/**
 * Data-quality gate, series level: the checks that need more than one row — the NYSE session
 * calendar, the previous bar, the whole history — run at load time right after `validateBarRows`.
 * Each finding is a `BarDefect` of the same shape as a row defect (line, anchor date, rule, field,
 * value, message naming the date and the field), so `selectDecisionWindow` quarantines a symbol
 * only for the sessions whose decision window holds one.
 *
 * Pure: no I/O, no clock (the session being decided is passed in). Dates are NYSE session dates
 * `YYYY-MM-DD` (America/New_York); prices USD per share; volume shares.
 *
 * Thresholds and where they come from (measured on the bundled 505-symbol S&P 500 set
 * `data/sp500-daily-2013-2018/`, 619,040 rows; see `test/data/sp500-defects.test.ts`):
 * - `SPLIT_TOLERANCE` 7 %: the 99th percentile of a bar's largest excursion from the previous close
 *   (max over open/high/low/close of |price / previous close − 1|) is 7.1 %. A split-day bar carries an
 *   ordinary day's move on top of the split factor, so about 99 % of unadjusted split days keep every
 *   price within 7 % of factor × previous close. The real move nearest to a split factor, VRTX +62 %
 *   on 2013-04-19 (3/2), lies 8.3 % away; AMD +52 % on 2016-04-22 opened at 0.81 × 3/2.
 * - `EXTREME_WICK_FACTOR` 1.4: the 99.999th percentile of high / max(open, close) and
 *   min(open, close) / low is 1.20; the 2015-08-24 flash crash (the most violent real day in the set)
 *   reached 1.22 (MDT), CHK's real $1.50 print on 2016-02-08 1.36. The smallest split factor is 3/2, so a
 *   high or low left unadjusted across a split (others adjusted) lands near 1.5 × the body or beyond.
 */
import { assertCalendarDate, isCalendarDate, type TradingCalendar } from './calendar';
import type { Bar, BarDefect, BarDefectRule, ValidatedBars } from './bars';

/** A split as a price factor: `ratio` = price after / price before (2-for-1 → 1/2, 1-for-5 → 5). */
export interface SplitFactor {
  ratio: number;
  /** The ratio as written in messages: `1/2`, `2/3`, `3/2`, `5`. */
  text: string;
  /** e.g. `2-for-1 split`, `1-for-5 reverse split`. */
  label: string;
}

/**
 * Split factors checked by SPLIT_LIKE_JUMP: forward n-for-1 (n = 2…8, 10) and 3-for-2, and the same
 * as reverse splits: the usual split sizes (S&P 500 members 2013-2018: AAPL 7-for-1 2014, NFLX
 * 7-for-1 2015, V 4-for-1 2015, MA 10-for-1 2014, MNST 3-for-1 2016, KR 2-for-1 2015). 5-for-4 (0.8)
 * is left out: a 20 % gap is an ordinary earnings move, too close to tell apart.
 */
export const SPLIT_FACTORS: readonly SplitFactor[] = Object.freeze(
  [
    ...[2, 3, 4, 5, 6, 7, 8, 10].map((n) => ({ ratio: 1 / n, text: `1/${n}`, label: `${n}-for-1 split` })),
    { ratio: 2 / 3, text: '2/3', label: '3-for-2 split' },
    { ratio: 3 / 2, text: '3/2', label: '2-for-3 reverse split' },
    ...[2, 3, 4, 5, 6, 7, 8, 10].map((n) => ({ ratio: n, text: String(n), label: `1-for-${n} reverse split` })),
  ].map((factor) => Object.freeze(factor)),
);

/**
 * SPLIT_LIKE_JUMP fires when every one of open, high, low and close lies within this relative
 * distance of factor × previous close (|price / (factor × previous close) − 1| ≤ 0.07). Source: see
 * the module comment (99th percentile of a bar's excursion from the previous close).
 */
export const SPLIT_TOLERANCE = 0.07;

/**
 * EXTREME_WICK fires when high > 1.4 × max(open, close) or low < min(open, close) / 1.4. Source: see
 * the module comment (above every real wick in the set, below the smallest split factor 3/2).
 */
export const EXTREME_WICK_FACTOR = 1.4;

/** Every series rule, in the order `checkBarSeries` reports rules of one bar. */
export const SERIES_RULES: readonly BarDefectRule[] = Object.freeze([
  'NON_SESSION_DATE',
  'MISSING_SESSION',
  'STALE_LAST_BAR',
  'ZERO_VOLUME',
  'EXTREME_WICK',
  'SPLIT_LIKE_JUMP',
  'REPEATED_BAR',
] as const);

/**
 * Sessions a REPEATED_BAR quarantines: a decision whose window holds the copy among its last 20 bars.
 *
 * The bundled S&P 500 set holds 2,133 repeated bars in 1,066 groups, nearly all vendor copies (mostly
 * 2014-07…12 and 2017-08…12; e.g. 2017-09-14 carries 2017-12-19's prices in 31 symbols). A recent
 * copy misprices what a decision uses most: the last close (entry limit), ATR(14) (stop distance),
 * ADV(20) (liquidity) and the 20-day return and volatility the model ranks on, so those sessions are
 * quarantined. Once the copy is older than 20 bars it only nudges the long averages (one bar of 50 or
 * 200), and quarantining every 300-bar window that holds one would take 280–360 of the 505 symbols
 * out of most sessions of 2014-09…2015-08 and 2017-08…2018-02; the defect is still reported.
 */
export const REPEATED_BAR_HORIZON = 20;

/** The series rules the pipeline quarantines on (fetch merges these): all of them. */
export const QUARANTINING_SERIES_RULES: readonly BarDefectRule[] = SERIES_RULES;

/** Options for `checkBarSeries`. */
export interface SeriesCheckOptions {
  /**
   * The session being decided (`YYYY-MM-DD`, inside the calendar's coverage). When given, the last bar
   * dated before it must be the session just before it, else a STALE_LAST_BAR defect is reported.
   */
  asOf?: string;
  /** Report only these series rules (default: all of SERIES_RULES). Row rules are ignored here. */
  rules?: readonly BarDefectRule[];
}

/**
 * Series checks over one symbol's validated bars. Returns only the new defects, sorted by anchor date,
 * then line, then the order of SERIES_RULES; never throws for bad data.
 *
 * With `options.asOf` (the session being decided) the checks see only the bars dated before it, as
 * the session itself did: a repeated bar is reported only once a copy of it is dated before asOf
 * (naming only such copies), a hole only once the bar after it is. Nothing a session decides on
 * depends on a later bar (test/local/look-ahead.test.ts). Without `asOf`: the whole history.
 *
 * Rules (anchor date in brackets):
 * - NON_SESSION_DATE [the bar]: a bar dated on a day the NYSE did not trade (weekend, holiday);
 *   field `date`. Checked only within the calendar's coverage.
 * - ZERO_VOLUME [the bar]: volume 0 — no trade printed, the prices are a placeholder; field `volume`.
 * - EXTREME_WICK [the bar]: high > EXTREME_WICK_FACTOR × max(open, close) (field `high`) or
 *   low < min(open, close) / EXTREME_WICK_FACTOR (field `low`): a high or low left unadjusted across a
 *   split while the rest of the row is adjusted (the half-adjusted row the range checks cannot see),
 *   or an erroneous print.
 * - SPLIT_LIKE_JUMP [the jump's bar]: against the previous bar's close C, every one of
 *   open/high/low/close is within SPLIT_TOLERANCE of k × C for a factor k of SPLIT_FACTORS: the whole
 *   bar moved by a split factor, as when a split (or a share distribution) is not adjusted; field
 *   `close`. A real big move (AMD +52 % on 2016-04-22) moves during the day and is not flagged.
 * - REPEATED_BAR [each bar of the group]: two or more bars with exactly the same open, high, low and
 *   close. A vendor copy of another date's bar: the copied date's real bar is lost and the copy may
 *   even hold a later date's prices. Which bar is the copy cannot be told from the bars alone, so
 *   every bar of the group is reported, naming the others; field `close`. It quarantines only the
 *   sessions that hold it among their last REPEATED_BAR_HORIZON bars (its `horizon`).
 * - MISSING_SESSION [the missing session]: an NYSE session strictly between the first and the last
 *   bar with neither a bar nor a row defect anchored on it (a defective row already has its own
 *   defect); field `date`, value ''; line of the first bar after the hole. Checked only within the
 *   calendar's coverage.
 *
 * The calendar rules see only the calendar's coverage: the Lambda wiring reads Alpaca's calendar from
 * 30 days back, so there the older bars are not checked against sessions (they are against each
 * other). Nothing outside coverage is reported, since a short calendar must not quarantine everything.
 * - STALE_LAST_BAR [the first session after the last bar]: only with `options.asOf`: the last bar
 *   dated before asOf is older than the session just before asOf; field `date`, value the last bar's
 *   date; line of the last bar. Anchoring at the first session with no bar makes every later session
 *   (whose window holds that anchor) see it, and no earlier one.
 *
 * @param validated output of `validateBarRows` (bars strictly ascending by date; `barLines` gives the
 *   lines, else line 0). Its row defects only tell MISSING_SESSION which sessions do have a row.
 * @param calendar the NYSE sessions.
 * @throws Error when `options.asOf` is not `YYYY-MM-DD`; RangeError when it is outside the calendar.
 */
export function checkBarSeries(
  validated: ValidatedBars,
  calendar: TradingCalendar,
  options: SeriesCheckOptions = {},
): BarDefect[] {
  if (options.asOf !== undefined) assertCalendarDate('asOf', options.asOf);
  const found = assembleDefects(validated, seriesParts(validated, calendar), options.asOf);
  if (options.asOf !== undefined) {
    const stale = staleLastBar(validated, calendar, options.asOf, lastIndexBeforeScan);
    if (stale !== undefined) found.push(stale);
  }
  return sortSeriesDefects(found, options.rules);
}

/**
 * `validated` with `checkBarSeries` defects appended after its row defects: what fetch hands to
 * `selectDecisionWindow`. Bars and lines are shared, not copied.
 * @throws as `checkBarSeries`.
 */
export function withSeriesChecks(validated: ValidatedBars, calendar: TradingCalendar, options: SeriesCheckOptions = {}): ValidatedBars {
  const extra = checkBarSeries(validated, calendar, options);
  return { ...validated, defects: [...validated.defects, ...extra] };
}

/** `withSeriesChecks` for one symbol's bars, answered per session (see `prepareSeriesChecks`). */
export interface PreparedSeriesChecks {
  /**
   * Exactly `withSeriesChecks(validated, calendar, { asOf, rules })` (same defects, same order, same
   * messages; the defect objects are shared between calls, so treat them as read-only).
   * @throws as `checkBarSeries` (Error when `asOf` is not `YYYY-MM-DD`, RangeError outside the calendar).
   */
  withAsOf(asOf: string): ValidatedBars;
}

/**
 * Runs the series checks of one symbol once, for many sessions: the findings over the whole history
 * are computed here once, each with the date of the latest bar it reads; `withAsOf` keeps those a
 * session may know (read only bars dated before it, repeated bars named only among such bars), sorts
 * them and adds the session's STALE_LAST_BAR defect (a binary search and a few calendar lookups). A
 * replay of N sessions then checks each series once instead of N times, with the same results as
 * `checkBarSeries(…, { asOf })`.
 * @param validated output of `validateBarRows`; it must not change afterwards (it is read now and
 *   spread into every answer).
 */
export function prepareSeriesChecks(
  validated: ValidatedBars,
  calendar: TradingCalendar,
  options: Pick<SeriesCheckOptions, 'rules'> = {},
): PreparedSeriesChecks {
  const parts = seriesParts(validated, calendar);
  const staleWanted = new Set<BarDefectRule>(options.rules ?? SERIES_RULES).has('STALE_LAST_BAR');
  const { bars } = validated;
  let ascending = true;
  for (let i = 1; i < bars.length && ascending; i++) ascending = (bars[i - 1] as Bar).date < (bars[i] as Bar).date;
  const lastIndexBefore = ascending ? lastIndexBeforeSearch : lastIndexBeforeScan;
  return {
    withAsOf(asOf: string): ValidatedBars {
      assertCalendarDate('asOf', asOf);
      // Computed even when STALE_LAST_BAR is not wanted: checkBarSeries throws for an asOf outside coverage.
      const stale = staleLastBar(validated, calendar, asOf, lastIndexBefore);
      const base = sortSeriesDefects(assembleDefects(validated, parts, asOf), options.rules);
      let extra: readonly BarDefect[] = base;
      if (stale !== undefined && staleWanted) {
        // The sort key is (date, line, rule order, position) and the stale defect comes last in
        // checkBarSeries: it goes before the first defect whose (date, line, rule order) is greater.
        let lo = 0;
        let hi = base.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (compareDefects(base[mid] as BarDefect, stale) <= 0) lo = mid + 1;
          else hi = mid;
        }
        extra = [...base.slice(0, lo), stale, ...base.slice(lo)];
      }
      return { ...validated, defects: [...validated.defects, ...extra] };
    },
  };
}

/** Orders series defects by anchor date, then line, then the order of SERIES_RULES (ties: 0). */
function compareDefects(a: BarDefect, b: BarDefect): number {
  return a.date < b.date ? -1 : a.date > b.date ? 1 : a.line - b.line || SERIES_RULES.indexOf(a.rule) - SERIES_RULES.indexOf(b.rule);
}

/** The wanted defects of `found`, sorted by compareDefects, then by their place in `found`. */
function sortSeriesDefects(found: readonly BarDefect[], rules: readonly BarDefectRule[] | undefined): BarDefect[] {
  const wanted = new Set<BarDefectRule>(rules ?? SERIES_RULES);
  return found
    .filter((defect) => wanted.has(defect.rule))
    .map((defect, position) => ({ defect, position }))
    .sort((a, b) => compareDefects(a.defect, b.defect) || a.position - b.position)
    .map(({ defect }) => defect);
}

/** A series defect; the message ends with the source line (`unknown` for line 0). */
function seriesDefect(line: number, date: string, rule: BarDefectRule, field: string, value: string, sentence: string): BarDefect {
  return { line, date, rule, field, value, message: `${sentence} (line ${line === 0 ? 'unknown' : line})` };
}

/** A series defect and the date of the latest bar it reads: it is known to a session only after that bar. */
interface Found {
  defect: BarDefect;
  knownFrom: string;
}

/** The series findings of one symbol over its whole history, before any session's cut (see `assembleDefects`). */
interface SeriesParts {
  /** NON_SESSION_DATE, ZERO_VOLUME, EXTREME_WICK, SPLIT_LIKE_JUMP, in bar order: each reads its bar (and the one before). */
  perBar: Found[];
  /** REPEATED_BAR groups (ascending bar indices, ordered by first index): a member is reported once a second one is known. */
  groups: number[][];
  /** MISSING_SESSION, in session order: known once the bar after the hole is. */
  missing: Found[];
}

function seriesParts(validated: ValidatedBars, calendar: TradingCalendar): SeriesParts {
  const { bars, barLines } = validated;
  const perBar: Found[] = [];
  const lineOf = (index: number): number => barLines?.[index] ?? 0;
  bars.forEach((bar, index) => {
    const line = lineOf(index);
    const { date } = bar;
    const add = (rule: BarDefectRule, field: string, value: string, sentence: string): void => {
      perBar.push({ defect: seriesDefect(line, date, rule, field, value, sentence), knownFrom: date });
    };
    if (calendar.covers(date) && !calendar.isSession(date)) {
      add('NON_SESSION_DATE', 'date', date, `${date} date is not an NYSE session (weekend or holiday)`);
    }
    if (bar.volume === 0) {
      add('ZERO_VOLUME', 'volume', '0', `${date} volume is 0: no trade printed, the prices are a placeholder`);
    }
    const top = Math.max(bar.open, bar.close);
    const bottom = Math.min(bar.open, bar.close);
    const body = `[open ${bar.open}, close ${bar.close}]`;
    if (bar.high > EXTREME_WICK_FACTOR * top) {
      add('EXTREME_WICK', 'high', String(bar.high), `${date} high ${bar.high} is ${fixed(bar.high / top)}× the top of the day's body ${body} (limit ${EXTREME_WICK_FACTOR}×): unadjusted for a split or an erroneous print`);
    }
    if (bar.low * EXTREME_WICK_FACTOR < bottom) {
      add('EXTREME_WICK', 'low', String(bar.low), `${date} low ${bar.low} is 1/${fixed(bottom / bar.low)} of the bottom of the day's body ${body} (limit 1/${EXTREME_WICK_FACTOR}): unadjusted for a split or an erroneous print`);
    }
    const previous = bars[index - 1];
    if (previous !== undefined) {
      const factor = splitFactor(previous.close, bar);
      if (factor !== undefined) {
        add('SPLIT_LIKE_JUMP', 'close', String(bar.close), `${date} close ${bar.close} is ${fixed(bar.close / previous.close)}× the previous close ${previous.close} (${previous.date}) and open/high/low/close all lie within ${Math.round(SPLIT_TOLERANCE * 100)}% of ${factor.text}× it: looks like an unadjusted ${factor.label}`);
      }
    }
  });
  const missing: Found[] = [];
  missingSessions(validated, calendar, lineOf, missing);
  return { perBar, groups: repeatedGroups(bars), missing };
}

/**
 * The series defects (all rules but STALE_LAST_BAR, unsorted) as a session deciding `asOf` may know
 * them: only what the bars dated before `asOf` show, so no decision reads a later bar (a repeated bar
 * counts as one only once a copy of it is dated before `asOf`, and names only those copies; a hole
 * counts as MISSING_SESSION only once the bar after it is). Without `asOf`: the whole history.
 */
function assembleDefects(validated: ValidatedBars, parts: SeriesParts, asOf: string | undefined): BarDefect[] {
  const { bars, barLines } = validated;
  const lineOf = (index: number): number => barLines?.[index] ?? 0;
  const known = (f: Found) => asOf === undefined || f.knownFrom < asOf;
  const found: BarDefect[] = parts.perBar.filter(known).map((f) => f.defect);
  for (const group of parts.groups) {
    const visible = asOf === undefined ? group : group.filter((index) => (bars[index] as Bar).date < asOf);
    if (visible.length < 2) continue;
    for (const index of visible) {
      const bar = bars[index] as Bar;
      const others = visible.filter((other) => other !== index).map((other) => `${(bars[other] as Bar).date} (line ${lineOf(other) || 'unknown'})`);
      const defect = seriesDefect(lineOf(index), bar.date, 'REPEATED_BAR', 'close', String(bar.close), `${bar.date} open/high/low/close ${bar.open}/${bar.high}/${bar.low}/${bar.close} are identical to the bar of ${others.join(', ')}: one of them is a copy of another date's bar`);
      defect.horizon = REPEATED_BAR_HORIZON;
      found.push(defect);
    }
  }
  for (const f of parts.missing) if (known(f)) found.push(f.defect);
  return found;
}

/** At most 3 decimals, no trailing zeros: 0.4936 → "0.494", 2 → "2". */
function fixed(value: number): string {
  return String(Number(value.toFixed(3)));
}

/** The split factor whose level k × previousClose holds the whole bar within SPLIT_TOLERANCE (closest by close). */
function splitFactor(previousClose: number, bar: Bar): SplitFactor | undefined {
  let best: SplitFactor | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const factor of SPLIT_FACTORS) {
    const level = factor.ratio * previousClose;
    const fits = [bar.open, bar.high, bar.low, bar.close].every((price) => Math.abs(price / level - 1) <= SPLIT_TOLERANCE);
    const distance = Math.abs(Math.log(bar.close / level));
    if (fits && distance < bestDistance) {
      best = factor;
      bestDistance = distance;
    }
  }
  return best;
}

/** Groups (ascending indices, ≥ 2 each, ordered by first index) of bars with identical open/high/low/close. */
function repeatedGroups(bars: readonly Bar[]): number[][] {
  const byPrices = new Map<string, number[]>();
  bars.forEach((bar, index) => {
    const key = `${bar.open}|${bar.high}|${bar.low}|${bar.close}`;
    const group = byPrices.get(key);
    if (group === undefined) byPrices.set(key, [index]);
    else group.push(index);
  });
  return [...byPrices.values()].filter((group) => group.length > 1);
}

function missingSessions(validated: ValidatedBars, calendar: TradingCalendar, lineOf: (index: number) => number, out: Found[]): void {
  const { bars, defects } = validated;
  const first = bars[0];
  const last = bars[bars.length - 1];
  if (first === undefined || last === undefined) return;
  const from = first.date > calendar.first.date ? first.date : calendar.first.date;
  const to = last.date < calendar.last.date ? last.date : calendar.last.date;
  if (from > to) return;
  const hasRow = new Set<string>(bars.map((bar) => bar.date));
  // Row defects only: a series defect (e.g. from an earlier withSeriesChecks) is not a row.
  for (const defect of defects) {
    if (!SERIES_RULES.includes(defect.rule) && isCalendarDate(defect.date)) hasRow.add(defect.date);
  }
  let next = 0; // index of the first bar dated after the session being looked at
  for (const session of calendar.sessionsBetween(from, to)) {
    while (next < bars.length && (bars[next] as Bar).date <= session.date) next++;
    if (session.date <= first.date || session.date >= last.date || hasRow.has(session.date)) continue;
    const before = bars[next - 1] as Bar;
    const after = bars[next] as Bar;
    out.push({
      defect: seriesDefect(lineOf(next), session.date, 'MISSING_SESSION', 'date', '', `${session.date} row is missing: an NYSE session between the bars of ${before.date} and ${after.date} has no row`),
      knownFrom: after.date,
    });
  }
}

/** Index of the last bar dated before `asOf`, scanning back from the end (-1: none). Any order of bars. */
function lastIndexBeforeScan(bars: readonly Bar[], asOf: string): number {
  let index = bars.length - 1;
  while (index >= 0 && (bars[index] as Bar).date >= asOf) index--;
  return index;
}

/** `lastIndexBeforeScan` by binary search: only for bars strictly ascending by date. */
function lastIndexBeforeSearch(bars: readonly Bar[], asOf: string): number {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bars[mid] as Bar).date < asOf) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The STALE_LAST_BAR defect of session `asOf`, if any. @throws RangeError when asOf is outside coverage. */
function staleLastBar(
  validated: ValidatedBars,
  calendar: TradingCalendar,
  asOf: string,
  lastIndexBefore: (bars: readonly Bar[], asOf: string) => number,
): BarDefect | undefined {
  const { bars, barLines } = validated;
  const expected = calendar.previousSession(asOf); // RangeError outside coverage
  const index = lastIndexBefore(bars, asOf);
  const last = bars[index];
  if (expected === undefined || last === undefined || last.date >= expected.date) return undefined;
  const firstMissing = last.date < calendar.first.date ? calendar.first : (calendar.nextSession(last.date) ?? expected);
  const count = calendar.sessionsBetween(firstMissing.date, expected.date).length;
  return seriesDefect(
    barLines?.[index] ?? 0,
    firstMissing.date,
    'STALE_LAST_BAR',
    'date',
    last.date,
    `${firstMissing.date} row is missing: the last bar before session ${asOf} is ${last.date}, expected ${expected.date} (${count} session(s) without a bar)`,
  );
}
