import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CsvCalendar } from '../../../lambdas/adapters/calendar/csv-calendar';
import { CsvMarketData } from '../../../lambdas/adapters/market-data/csv';
import { selectDecisionWindow, validateBarRows, type BarDefect, type RawBarRow, type ValidatedBars } from '../../../lambdas/core/bars';
import { TradingCalendar } from '../../../lambdas/core/calendar';
import {
  checkBarSeries,
  EXTREME_WICK_FACTOR,
  prepareSeriesChecks,
  QUARANTINING_SERIES_RULES,
  REPEATED_BAR_HORIZON,
  SERIES_RULES,
  SPLIT_TOLERANCE,
  withSeriesChecks,
} from '../../../lambdas/core/data-quality';

const CALENDAR_FILE = fileURLToPath(new URL('../../../data/calendars/xnys-sessions-1990-2023.csv', import.meta.url));

let calendar: TradingCalendar;
/** NYSE sessions 2018-01-02 … 2018-03-29 (2018-01-15 MLK and 2018-02-19 Presidents' Day are holidays). */
let sessions: string[];

beforeAll(async () => {
  calendar = new TradingCalendar(await new CsvCalendar({ file: CALENDAR_FILE }).loadSessions());
  sessions = calendar.sessionsBetween('2018-01-02', '2018-03-29').map((s) => s.date);
});

type Prices = Partial<Omit<RawBarRow, 'line' | 'date'>>;

/**
 * One clean row per date (lines 2…), unless overridden by date: row i has open/high/low/close
 * 10/11/9/10.5 + i cents (so no two rows repeat), volume 100.
 */
function rowsFor(dates: readonly string[], overrides: Record<string, Prices> = {}): RawBarRow[] {
  const price = (base: number, i: number): string => (base + i / 100).toFixed(2);
  return dates.map((date, i) => ({
    line: i + 2,
    date,
    open: price(10, i),
    high: price(11, i),
    low: price(9, i),
    close: price(10.5, i),
    volume: '100',
    ...overrides[date],
  }));
}

/** Validated clean bars on the given dates (with per-date overrides), asserting the rows themselves are clean. */
function clean(dates: readonly string[], overrides: Record<string, Prices> = {}): ValidatedBars {
  const validated = validateBarRows(rowsFor(dates, overrides));
  expect(validated.defects).toEqual([]);
  return validated;
}

function summary(defects: readonly BarDefect[]): Array<[string, string, string]> {
  return defects.map((d) => [d.date, d.rule, d.field]);
}

describe('checkBarSeries: clean data', () => {
  it('finds nothing in clean bars on consecutive sessions, across holidays, with asOf the next session', () => {
    const validated = clean(sessions.slice(0, 40));
    expect(sessions.slice(0, 40)).not.toContain('2018-01-15'); // MLK: a weekday with no session
    expect(checkBarSeries(validated, calendar, { asOf: sessions[40] })).toEqual([]);
  });

  it('finds nothing for no bars or one bar', () => {
    expect(checkBarSeries(validateBarRows([]), calendar, { asOf: '2018-02-07' })).toEqual([]);
    expect(checkBarSeries(clean(['2018-02-06']), calendar, { asOf: '2018-02-07' })).toEqual([]);
  });
});

describe('checkBarSeries: NON_SESSION_DATE', () => {
  it('flags a bar on a holiday or a weekend, naming the date', () => {
    const dates = ['2018-01-12', '2018-01-13', '2018-01-15', '2018-01-16'];
    const found = checkBarSeries(clean(dates), calendar);
    expect(found).toEqual([
      {
        line: 3,
        date: '2018-01-13',
        rule: 'NON_SESSION_DATE',
        field: 'date',
        value: '2018-01-13',
        message: '2018-01-13 date is not an NYSE session (weekend or holiday) (line 3)',
      },
      {
        line: 4,
        date: '2018-01-15',
        rule: 'NON_SESSION_DATE',
        field: 'date',
        value: '2018-01-15',
        message: '2018-01-15 date is not an NYSE session (weekend or holiday) (line 4)',
      },
    ]);
  });

  it('checks dates and gaps only inside the calendar coverage (a short calendar must not quarantine everything)', () => {
    // 1989-12-30 is a Saturday and 1989-12-28/29 are not in the calendar: nothing can be said there.
    const found = checkBarSeries(clean(['1989-12-28', '1989-12-30', '1990-01-02', '1990-01-04']), calendar);
    expect(summary(found)).toEqual([['1990-01-03', 'MISSING_SESSION', 'date']]);
    // The same with a calendar covering only January 2018: December's bars are not judged.
    const short = new TradingCalendar(calendar.sessionsBetween('2018-01-02', '2018-01-31'));
    const dates = [...calendar.sessionsBetween('2017-12-01', '2017-12-29').map((s) => s.date), '2017-12-31', ...sessions.slice(0, 5)];
    expect(checkBarSeries(clean(dates.filter((d) => d !== '2017-12-12')), short, { asOf: sessions[5] })).toEqual([]);
    expect(summary(checkBarSeries(clean(dates.filter((d) => d !== sessions[2])), short, { asOf: sessions[5] }))).toEqual([
      [sessions[2], 'MISSING_SESSION', 'date'],
    ]);
  });
});

describe('checkBarSeries: MISSING_SESSION', () => {
  it('anchors one defect at each session with no row strictly between the first and last bar', () => {
    const dates = sessions.slice(0, 12).filter((d) => d !== '2018-01-09' && d !== '2018-01-10');
    const found = checkBarSeries(clean(dates), calendar);
    expect(found).toEqual([
      {
        line: 7, // the 2018-01-11 row, the first after the hole
        date: '2018-01-09',
        rule: 'MISSING_SESSION',
        field: 'date',
        value: '',
        message: '2018-01-09 row is missing: an NYSE session between the bars of 2018-01-08 and 2018-01-11 has no row (line 7)',
      },
      {
        line: 7,
        date: '2018-01-10',
        rule: 'MISSING_SESSION',
        field: 'date',
        value: '',
        message: '2018-01-10 row is missing: an NYSE session between the bars of 2018-01-08 and 2018-01-11 has no row (line 7)',
      },
    ]);
  });

  it('does not count sessions before the first bar or after the last one (IPOs, spin-offs, delistings)', () => {
    expect(checkBarSeries(clean(sessions.slice(10, 20)), calendar)).toEqual([]);
  });

  it('does not report a session whose row exists but was refused: the row defect already covers it', () => {
    const rows = rowsFor(sessions.slice(0, 6), { [sessions[3] as string]: { open: '' } });
    const validated = validateBarRows(rows);
    expect(validated.defects.map((d) => [d.date, d.rule])).toEqual([[sessions[3], 'MISSING_FIELD']]);
    expect(checkBarSeries(validated, calendar)).toEqual([]);
  });

  it('still reports a missing session when checking bars that already carry series defects', () => {
    const validated = clean(sessions.slice(0, 6).filter((_, i) => i !== 3));
    const once = checkBarSeries(validated, calendar);
    expect(summary(once)).toEqual([[sessions[3], 'MISSING_SESSION', 'date']]);
    expect(checkBarSeries(withSeriesChecks(validated, calendar), calendar)).toEqual(once);
  });
});

describe('checkBarSeries: STALE_LAST_BAR', () => {
  it('anchors at the first session with no bar, naming the last bar, the session decided and the expected date', () => {
    // Bars end Friday 2018-01-12; deciding Tuesday 2018-01-23 needs a bar of Monday 2018-01-22.
    const dates = sessions.slice(0, 9);
    expect(dates.at(-1)).toBe('2018-01-12');
    const found = checkBarSeries(clean(dates), calendar, { asOf: '2018-01-23' });
    expect(found).toEqual([
      {
        line: 10,
        date: '2018-01-16', // 2018-01-15 is MLK day
        rule: 'STALE_LAST_BAR',
        field: 'date',
        value: '2018-01-12',
        message:
          '2018-01-16 row is missing: the last bar before session 2018-01-23 is 2018-01-12, expected 2018-01-22 (5 session(s) without a bar) (line 10)',
      },
    ]);
  });

  it('is silent when the last bar is the previous session, and ignores bars on or after asOf', () => {
    const validated = clean(sessions.slice(0, 20));
    expect(checkBarSeries(validated, calendar, { asOf: sessions[9] })).toEqual([]);
    expect(checkBarSeries(validated, calendar, { asOf: sessions[20] })).toEqual([]);
    expect(checkBarSeries(validated, calendar, { asOf: sessions[21] }).map((d) => [d.rule, d.date, d.value])).toEqual([
      ['STALE_LAST_BAR', sessions[20], sessions[19]],
    ]);
  });

  it('anchors at the calendar start when the last bar is older than the calendar', () => {
    const short = new TradingCalendar(calendar.sessionsBetween('2018-01-02', '2018-01-31'));
    const validated = clean(calendar.sessionsBetween('2017-12-01', '2017-12-29').map((s) => s.date));
    expect(checkBarSeries(validated, short, { asOf: '2018-01-05' }).map((d) => [d.rule, d.date, d.value, d.message])).toEqual([
      [
        'STALE_LAST_BAR',
        '2018-01-02',
        '2017-12-29',
        '2018-01-02 row is missing: the last bar before session 2018-01-05 is 2017-12-29, expected 2018-01-04 (3 session(s) without a bar) (line 21)',
      ],
    ]);
  });

  it('is only checked when asOf is given, and refuses a malformed or uncovered asOf', () => {
    expect(checkBarSeries(clean(sessions.slice(0, 3)), calendar)).toEqual([]);
    expect(() => checkBarSeries(clean(sessions.slice(0, 3)), calendar, { asOf: '2018-2-7' })).toThrow(
      'asOf must be a calendar date YYYY-MM-DD, got "2018-2-7"',
    );
    expect(() => checkBarSeries(clean(sessions.slice(0, 3)), calendar, { asOf: '2024-01-02' })).toThrow(RangeError);
  });
});

describe('checkBarSeries: ZERO_VOLUME', () => {
  it('flags a bar with volume 0 (validateBarRows itself accepts it)', () => {
    const dates = sessions.slice(0, 3);
    const found = checkBarSeries(clean(dates, { [dates[1] as string]: { volume: '0' } }), calendar);
    expect(found).toEqual([
      {
        line: 3,
        date: dates[1],
        rule: 'ZERO_VOLUME',
        field: 'volume',
        value: '0',
        message: `${dates[1]} volume is 0: no trade printed, the prices are a placeholder (line 3)`,
      },
    ]);
  });
});

describe('checkBarSeries: EXTREME_WICK (a half-adjusted row the range checks cannot see)', () => {
  it('flags a low left at half the body (2-for-1 applied to the low only), naming the field', () => {
    const dates = sessions.slice(0, 3);
    // HCA 2015-08-24 in the S&P 500 set: open 81.54, high 85.97, low 43.91, close 84.31.
    const found = checkBarSeries(clean(dates, { [dates[1] as string]: { open: '81.54', high: '85.97', low: '43.91', close: '84.31' } }), calendar);
    expect(found).toEqual([
      {
        line: 3,
        date: dates[1],
        rule: 'EXTREME_WICK',
        field: 'low',
        value: '43.91',
        message: `${dates[1]} low 43.91 is 1/1.857 of the bottom of the day's body [open 81.54, close 84.31] (limit 1/1.4): unadjusted for a split or an erroneous print (line 3)`,
      },
    ]);
  });

  it('flags a high left at twice the body (reverse split not applied to the high)', () => {
    const dates = sessions.slice(0, 3);
    const found = checkBarSeries(clean(dates, { [dates[1] as string]: { open: '10', high: '20.5', low: '9.8', close: '10.2' } }), calendar);
    expect(summary(found)).toEqual([[dates[1], 'EXTREME_WICK', 'high']]);
    expect(found[0]?.message).toContain('high 20.5 is 2.01× the top of the day');
  });

  it('keeps a violent real wick: the limit is 1.4× the body', () => {
    expect(EXTREME_WICK_FACTOR).toBe(1.4);
    const dates = sessions.slice(0, 4);
    const found = checkBarSeries(
      clean(dates, {
        // MDT 2015-08-24 (the largest real flash-crash wick in the set, 1/1.22).
        [dates[1] as string]: { open: '67.8', high: '72.9', low: '55.54', close: '70.91' },
        // 1.39× above and below the body: not flagged.
        [dates[2] as string]: { open: '10', high: '13.9', low: '7.2', close: '10' },
      }),
      calendar,
    );
    expect(found).toEqual([]);
  });
});

describe('checkBarSeries: SPLIT_LIKE_JUMP', () => {
  it('flags a whole bar moved by a split factor, anchored at the jump (DISCA 2014-08-07, unadjusted 2-for-1)', () => {
    const dates = sessions.slice(0, 3);
    const found = checkBarSeries(
      clean(dates, {
        [dates[0] as string]: { open: '83.78', high: '83.78', low: '82.31', close: '83.02' },
        [dates[1] as string]: { open: '43.25', high: '43.64', low: '40.65', close: '40.975' },
        [dates[2] as string]: { open: '41.06', high: '42.35', low: '40.84', close: '42.28' },
      }),
      calendar,
    );
    expect(found).toEqual([
      {
        line: 3,
        date: dates[1],
        rule: 'SPLIT_LIKE_JUMP',
        field: 'close',
        value: '40.975',
        message: `${dates[1]} close 40.975 is 0.494× the previous close 83.02 (${dates[0]}) and open/high/low/close all lie within 7% of 1/2× it: looks like an unadjusted 2-for-1 split (line 3)`,
      },
    ]);
  });

  it('flags reverse splits too, and picks the factor the close is nearest', () => {
    const dates = sessions.slice(0, 2);
    const found = checkBarSeries(clean(dates, { [dates[1] as string]: { open: '50', high: '52', low: '49', close: '51' } }), calendar);
    expect(found.map((d) => d.message)).toEqual([
      `${dates[1]} close 51 is 4.857× the previous close 10.5 (${dates[0]}) and open/high/low/close all lie within 7% of 5× it: looks like an unadjusted 1-for-5 reverse split (line 3)`,
    ]);
  });

  it('does NOT flag real big moves: AMD +52% (2016-04-22), CHK -33% (2016-02-08), VRTX +62% (2013-04-19)', () => {
    const cases: Array<[Prices, Prices]> = [
      [{ open: '2.65', high: '2.7', low: '2.6', close: '2.62' }, { open: '3.19', high: '3.99', low: '3.18', close: '3.99' }],
      // Closes at exactly 2/3 of the previous close, but opened at 0.84 of it.
      [{ open: '3.21', high: '3.26', low: '3.03', close: '3.06' }, { open: '2.56', high: '2.59', low: '1.5', close: '2.04' }],
      // Gapped up by 3/2 and stayed there, but its high is 8.3% above 3/2 × the previous close.
      [{ open: '54.14', high: '54.15', low: '51.9601', close: '52.87' }, { open: '81.55', high: '85.9', low: '80.1', close: '85.6' }],
    ];
    for (const [before, jump] of cases) {
      const dates = sessions.slice(0, 2);
      const found = checkBarSeries(clean(dates, { [dates[0] as string]: before, [dates[1] as string]: jump }), calendar);
      expect(found.filter((d) => d.rule === 'SPLIT_LIKE_JUMP')).toEqual([]);
    }
  });

  it('needs every price within the 7% tolerance of the factor level', () => {
    expect(SPLIT_TOLERANCE).toBe(0.07);
    const dates = sessions.slice(0, 2);
    const jump = (high: string): BarDefect[] =>
      checkBarSeries(clean(dates, { [dates[0] as string]: { close: '10' }, [dates[1] as string]: { open: '5', high, low: '4.9', close: '5' } }), calendar);
    expect(summary(jump('5.34'))).toEqual([[dates[1], 'SPLIT_LIKE_JUMP', 'close']]); // 6.8% above 5
    expect(jump('5.36')).toEqual([]); // 7.2% above 5
  });

  it('compares with the previous valid bar when a refused row sits between (LNT 2016-05-19 half-adjusted close)', () => {
    const dates = sessions.slice(0, 3);
    const rows = rowsFor(dates, { [dates[1] as string]: { open: '35.19', high: '35.785', low: '35.085', close: '17.87' } });
    const validated = validateBarRows(rows);
    expect(validated.defects.map((d) => d.rule)).toEqual(['CLOSE_OUTSIDE_RANGE']);
    expect(checkBarSeries(validated, calendar)).toEqual([]);
  });
});

describe('checkBarSeries: REPEATED_BAR', () => {
  it('reports every bar of a group with identical open/high/low/close, naming the others', () => {
    // A_data.csv in the S&P 500 set: 2014-08-04 repeats 2014-08-01 exactly, volume included.
    const dates = sessions.slice(0, 6);
    const copy = { open: '56.19', high: '56.4', low: '55.59', close: '56.26' };
    const found = checkBarSeries(clean(dates, { [dates[1] as string]: copy, [dates[2] as string]: { ...copy, volume: '200' }, [dates[4] as string]: copy }), calendar);
    expect(summary(found)).toEqual([
      [dates[1], 'REPEATED_BAR', 'close'],
      [dates[2], 'REPEATED_BAR', 'close'],
      [dates[4], 'REPEATED_BAR', 'close'],
    ]);
    expect(found[1]?.message).toBe(
      `${dates[2]} open/high/low/close 56.19/56.4/55.59/56.26 are identical to the bar of ${dates[1]} (line 3), ${dates[4]} (line 6): one of them is a copy of another date's bar (line 4)`,
    );
  });
});

describe('checkBarSeries: rules and order', () => {
  it('reports only the rules asked for; QUARANTINING_SERIES_RULES is every rule; a repeated bar carries its horizon', () => {
    expect(QUARANTINING_SERIES_RULES).toEqual(SERIES_RULES);
    const dates = sessions.slice(0, 5).filter((_, i) => i !== 2);
    const same = { open: '20', high: '21', low: '19', close: '20.5' };
    const validated = clean(dates, { [dates[0] as string]: same, [dates[1] as string]: same, [dates[3] as string]: { volume: '0' } });
    const found = checkBarSeries(validated, calendar);
    expect(summary(found)).toEqual([
      [sessions[0], 'REPEATED_BAR', 'close'],
      [sessions[1], 'REPEATED_BAR', 'close'],
      [sessions[2], 'MISSING_SESSION', 'date'],
      [sessions[4], 'ZERO_VOLUME', 'volume'],
    ]);
    expect(found.map((d) => d.horizon)).toEqual([REPEATED_BAR_HORIZON, REPEATED_BAR_HORIZON, undefined, undefined]);
    expect(summary(checkBarSeries(validated, calendar, { rules: ['MISSING_SESSION', 'ZERO_VOLUME'] }))).toEqual([
      [sessions[2], 'MISSING_SESSION', 'date'],
      [sessions[4], 'ZERO_VOLUME', 'volume'],
    ]);
    expect(checkBarSeries(validated, calendar, { rules: [] })).toEqual([]);
  });

  it('a repeated bar quarantines the windows that hold it among their last 20 bars, and no later one', () => {
    const dates = sessions.slice(0, 55);
    const same = { open: '20', high: '21', low: '19', close: '20.5' };
    // Bars 9 and 10 are copies of each other.
    const validated = withSeriesChecks(clean(dates, { [dates[9] as string]: same, [dates[10] as string]: same }), calendar);
    const decide = (i: number) => selectDecisionWindow(validated, { asOf: dates[i] as string, lookbackBars: 60, minBars: 1 });
    // Deciding session 30: the window's last 20 bars are 10..29, which hold the copy at bar 10.
    expect(decide(30)).toMatchObject({ ok: false, code: 'BAD_BARS' });
    // Deciding session 31: the last 20 bars are 11..30; bars 9 and 10 are older: usable.
    expect(decide(31).ok).toBe(true);
    expect(decide(54).ok).toBe(true);
  });

  it('sorts by anchor date, then line, then rule', () => {
    const dates = sessions.slice(0, 8).filter((_, i) => i !== 5);
    const validated = clean(dates, {
      // 1/10 of the previous close 10.5, flat: split-like, and no volume.
      [dates[1] as string]: { volume: '0', open: '1.05', high: '1.06', low: '1.04', close: '1.05' },
      // Half of the previous close 10.5.
      [dates[6] as string]: { volume: '0', open: '5.25', high: '5.3', low: '5.2', close: '5.25' },
    });
    expect(summary(checkBarSeries(validated, calendar, { rules: QUARANTINING_SERIES_RULES }))).toEqual([
      [dates[1], 'ZERO_VOLUME', 'volume'],
      [dates[1], 'SPLIT_LIKE_JUMP', 'close'],
      [sessions[5], 'MISSING_SESSION', 'date'],
      [dates[6], 'ZERO_VOLUME', 'volume'],
      [dates[6], 'SPLIT_LIKE_JUMP', 'close'],
    ]);
  });
});

describe('withSeriesChecks + selectDecisionWindow: quarantine only for the sessions whose window holds a defect', () => {
  /** The sessions (indexes into `sessions`) for which selectDecisionWindow refuses, with their codes. */
  function refused(validated: ValidatedBars, from: number, to: number): Array<[number, string]> {
    const out: Array<[number, string]> = [];
    for (let k = from; k <= to; k++) {
      const window = selectDecisionWindow(validated, { asOf: sessions[k] as string, lookbackBars: 10, minBars: 5 });
      if (!window.ok) out.push([k, window.code]);
    }
    return out;
  }
  const range = (from: number, to: number, code: string): Array<[number, string]> =>
    Array.from({ length: to - from + 1 }, (_, i) => [from + i, code]);

  it('appends the series defects after the row defects, leaving the input untouched', () => {
    const rows = rowsFor(sessions.slice(0, 8).filter((_, i) => i !== 4), { [sessions[2] as string]: { close: '99' } });
    const validated = validateBarRows(rows);
    const before = JSON.stringify(validated);
    const merged = withSeriesChecks(validated, calendar, { rules: QUARANTINING_SERIES_RULES });
    expect(JSON.stringify(validated)).toBe(before);
    expect(merged.bars).toBe(validated.bars);
    expect(summary(merged.defects)).toEqual([
      [sessions[2], 'CLOSE_OUTSIDE_RANGE', 'close'],
      [sessions[4], 'MISSING_SESSION', 'date'],
    ]);
  });

  it('a missing session quarantines exactly the sessions whose 10-bar window spans it', () => {
    const validated = withSeriesChecks(clean(sessions.slice(0, 60).filter((_, i) => i !== 30)), calendar);
    // asOf sessions[31]: the window ends at sessions[29] and the session before asOf has no row.
    // asOf sessions[40]: the window is sessions[29], [31]…[39]. asOf sessions[41]: [31]…[40], clean.
    expect(refused(validated, 5, 59)).toEqual(range(31, 40, 'BAD_BARS'));
    const window = selectDecisionWindow(validated, { asOf: sessions[35] as string, lookbackBars: 10, minBars: 5 });
    expect(window.ok === false && window.reason).toBe(
      `BAD_BARS: ${sessions[30]} row is missing: an NYSE session between the bars of ${sessions[29]} and ${sessions[31]} has no row (line 32)`,
    );
  });

  it('a split-like jump quarantines the sessions whose window holds the jump bar, and no others', () => {
    const prices: Record<string, Prices> = {};
    // From sessions[20] on, the series is at half its level (an unadjusted 2-for-1 split).
    sessions.slice(20, 60).forEach((date, i) => {
      const at = (base: number): string => (base + i / 100).toFixed(2);
      prices[date] = { open: at(5.3), high: at(5.45), low: at(5.25), close: at(5.35) };
    });
    const validated = withSeriesChecks(clean(sessions.slice(0, 60), prices), calendar);
    expect(summary(validated.defects)).toEqual([[sessions[20], 'SPLIT_LIKE_JUMP', 'close']]);
    expect(refused(validated, 5, 59)).toEqual(range(21, 30, 'BAD_BARS'));
  });

  it('a stale last bar quarantines every later session as STALE_DATA naming the last bar, even without previousSession', () => {
    const validated = withSeriesChecks(clean(sessions.slice(0, 20)), calendar, { asOf: sessions[25] });
    const request = { asOf: sessions[25] as string, lookbackBars: 10, minBars: 5 };
    const expected = {
      ok: false,
      code: 'STALE_DATA',
      reason: `STALE_DATA: ${sessions[20]} row is missing: the last bar before session ${sessions[25]} is ${sessions[19]}, expected ${sessions[24]} (5 session(s) without a bar) (line 21)`,
    };
    expect(selectDecisionWindow(validated, request)).toEqual(expected);
    expect(selectDecisionWindow(validated, { ...request, previousSession: sessions[24] })).toEqual(expected);
    // Sessions up to the one right after the last bar are not stale.
    expect(refused(validated, 5, 20)).toEqual([]);
  });
});

describe('prepareSeriesChecks: withSeriesChecks once per series, STALE_LAST_BAR per session', () => {
  const DAILY_DIR = fileURLToPath(new URL('../../../data/daily', import.meta.url));

  /** Every session of `from..to` (inclusive) answered identically by both paths. */
  function expectSame(validated: ValidatedBars, dates: readonly string[], rules = QUARANTINING_SERIES_RULES): number {
    const prepared = prepareSeriesChecks(validated, calendar, { rules });
    for (const asOf of dates) {
      expect(prepared.withAsOf(asOf), asOf).toEqual(withSeriesChecks(validated, calendar, { asOf, rules }));
    }
    return dates.length;
  }
  const between = (from: string, to: string): string[] => calendar.sessionsBetween(from, to).map((s) => s.date);

  it('a gap is a stale tail while the bar after it is not yet known, and MISSING_SESSION once it is (no look-ahead)', () => {
    // No bars on sessions 10 and 11. Deciding 12, the bars before it end at 9: a stale tail anchored
    // at 10, and no MISSING_SESSION, since the bar of 12 (which closes the hole) is not known yet.
    const dates = sessions.slice(0, 30).filter((_, i) => i !== 10 && i !== 11);
    const validated = clean(dates, { [sessions[5] as string]: { volume: '0' } });
    expect(summary(withSeriesChecks(validated, calendar, { asOf: sessions[12] }).defects)).toEqual([
      [sessions[5], 'ZERO_VOLUME', 'volume'],
      [sessions[10], 'STALE_LAST_BAR', 'date'],
    ]);
    // Deciding 13, the bar of 12 is known: the hole is two missing sessions, and the tail is fresh.
    expect(summary(withSeriesChecks(validated, calendar, { asOf: sessions[13] }).defects)).toEqual([
      [sessions[5], 'ZERO_VOLUME', 'volume'],
      [sessions[10], 'MISSING_SESSION', 'date'],
      [sessions[11], 'MISSING_SESSION', 'date'],
    ]);
    expect(expectSame(validated, sessions.slice(0, 40))).toBe(40);
  });

  it('a repeated bar is one only once its copy is dated before the session, and names only such copies (no look-ahead)', () => {
    const same = { open: '20', high: '21', low: '19', close: '20.5' };
    // Sessions 3, 8 and 15 carry the same prices.
    const validated = clean(sessions.slice(0, 20), { [sessions[3] as string]: same, [sessions[8] as string]: same, [sessions[15] as string]: same });
    const repeated = (asOf: string) =>
      withSeriesChecks(validated, calendar, { asOf, rules: ['REPEATED_BAR'] }).defects.filter((d) => d.rule === 'REPEATED_BAR');
    expect(repeated(sessions[8] as string)).toEqual([]); // only session 3 is known
    const at9 = repeated(sessions[9] as string);
    expect(at9.map((d) => d.date)).toEqual([sessions[3], sessions[8]]);
    expect(at9[0]!.message).not.toContain(sessions[15] as string);
    expect(repeated(sessions[16] as string).map((d) => d.date)).toEqual([sessions[3], sessions[8], sessions[15]]);
    // Without asOf (research export, the defect table): the whole history.
    expect(checkBarSeries(validated, calendar, { rules: ['REPEATED_BAR'] }).map((d) => d.date)).toEqual([sessions[3], sessions[8], sessions[15]]);
    expectSame(validated, sessions.slice(0, 20));
  });

  it('keeps the order for every subset of rules, with or without STALE_LAST_BAR', () => {
    const dates = sessions.slice(0, 30).filter((_, i) => i !== 10 && i !== 20);
    const same = { open: '20', high: '21', low: '19', close: '20.5' };
    const validated = clean(dates, { [sessions[3] as string]: same, [sessions[21] as string]: { ...same, volume: '0' } });
    for (const rules of [SERIES_RULES, ['STALE_LAST_BAR'], ['MISSING_SESSION', 'REPEATED_BAR'], []] as const) {
      expectSame(validated, sessions.slice(0, 35), rules);
    }
  });

  it('answers like withSeriesChecks for bars that are not ascending (hand-built), and for no bars at all', () => {
    const validated = clean(sessions.slice(0, 12));
    const shuffled: ValidatedBars = { ...validated, bars: [...validated.bars.slice(6), ...validated.bars.slice(0, 6)], barLines: undefined };
    expectSame(shuffled, sessions.slice(0, 20));
    expectSame(validateBarRows([]), sessions.slice(0, 3));
  });

  it('throws what checkBarSeries throws for a malformed or uncovered asOf, also when STALE_LAST_BAR is not asked for', () => {
    const prepared = prepareSeriesChecks(clean(sessions.slice(0, 3)), calendar, { rules: ['ZERO_VOLUME'] });
    expect(() => prepared.withAsOf('2018-2-7')).toThrow('asOf must be a calendar date YYYY-MM-DD, got "2018-2-7"');
    expect(() => prepared.withAsOf('2024-01-02')).toThrow(RangeError);
  });

  it('equals withSeriesChecks on the bundled data: gaps (BMY, ORCL), row defects and the end of SPY, and every symbol across the years', async () => {
    const source = new CsvMarketData({ dataDir: DAILY_DIR });
    let compared = 0;
    // BMY misses 2013-04-26 and 2013-06-07, ORCL 2013-07-15/16: stale tails and missing sessions on the same dates.
    compared += expectSame(await source.loadValidatedBars('BMY'), between('2013-02-08', '2013-07-31'));
    compared += expectSame(await source.loadValidatedBars('ORCL'), between('2013-06-14', '2013-08-16'));
    // SPY: two row defects in March 2015; its bars end 2017-12-29, so later sessions are stale.
    const spy = await source.loadValidatedBars('SPY');
    compared += expectSame(spy, [...between('2007-12-31', '2008-01-10'), ...between('2015-02-20', '2015-04-10'), ...between('2017-12-15', '2018-02-09')]);
    // Every symbol, every 100th session from before its first bar to after its last.
    const sparse = between('2013-01-02', '2018-02-12').filter((_, i, all) => i % 100 === 0 || i >= all.length - 4);
    for (const symbol of await source.listSymbols()) compared += expectSame(await source.loadValidatedBars(symbol), sparse);
    expect(compared).toBeGreaterThan(1000);
  }, 60_000);
});
