/**
 * Every real defect of the bundled S&P 500 set `data/sp500-daily-2013-2018/` (505 files), pinned.
 *
 * Each file goes through the real pipeline path: CsvMarketData → validateBarRows → checkBarSeries
 * (all series rules, NYSE calendar `data/calendars/xnys-sessions-1990-2023.csv`, deciding 2018-02-08,
 * the session after the last bar). The findings, one `symbol<TAB>date<TAB>rule<TAB>field` line each,
 * must equal `sp500-defects.expected.tsv` exactly: a defect no longer caught, or a new finding, fails.
 * Every line of that table was inspected by eye against the neighbouring rows (see data/README.md,
 * "Known caveats"); change it only after doing the same for the lines that change.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CsvCalendar } from '../../lambdas/adapters/calendar/csv-calendar';
import { CsvMarketData } from '../../lambdas/adapters/market-data/csv';
import { validateBarRows, type BarDefect } from '../../lambdas/core/bars';
import { TradingCalendar } from '../../lambdas/core/calendar';
import { checkBarSeries } from '../../lambdas/core/data-quality';

const DATA_DIR = fileURLToPath(new URL('../../data/sp500-daily-2013-2018', import.meta.url));
const CALENDAR_FILE = fileURLToPath(new URL('../../data/calendars/xnys-sessions-1990-2023.csv', import.meta.url));
const EXPECTED_FILE = fileURLToPath(new URL('./sp500-defects.expected.tsv', import.meta.url));
/** The session after the last bar of every file (2018-02-07): no file may be stale for it. */
const AS_OF = '2018-02-08';

interface Finding extends BarDefect {
  symbol: string;
}

let symbols: string[];
let rowCount = 0;
let findings: Finding[];

beforeAll(async () => {
  const source = new CsvMarketData({ dataDir: DATA_DIR });
  const calendar = new TradingCalendar(await new CsvCalendar({ file: CALENDAR_FILE }).loadSessions());
  symbols = await source.listSymbols();
  findings = [];
  for (const symbol of symbols) {
    const rows = await source.loadDailyRows(symbol);
    rowCount += rows.length;
    const validated = validateBarRows(rows);
    for (const defect of [...validated.defects, ...checkBarSeries(validated, calendar, { asOf: AS_OF })]) {
      findings.push({ symbol, ...defect });
    }
  }
});

const key = (f: Pick<Finding, 'symbol' | 'date' | 'rule' | 'field'>): string => [f.symbol, f.date, f.rule, f.field].join('\t');

function expectedKeys(): string[] {
  return readFileSync(EXPECTED_FILE, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function findingsOf(symbol: string, date: string): Finding[] {
  return findings.filter((f) => f.symbol === symbol && f.date === date);
}

describe('data/sp500-daily-2013-2018: every real defect is caught, and nothing else', () => {
  it('loads all 505 files, 619,040 rows', () => {
    expect(symbols).toHaveLength(505);
    expect(rowCount).toBe(619_040);
  });

  it('finds exactly the committed table of (symbol, date, rule, field)', () => {
    const expected = expectedKeys();
    expect(new Set(expected).size).toBe(expected.length); // the table itself has no duplicates
    const found = findings.map(key);
    const foundSet = new Set(found);
    const expectedSet = new Set(expected);
    const missing = expected.filter((line) => !foundSet.has(line));
    const unexpected = found.filter((line) => !expectedSet.has(line));
    expect(missing, 'defects in the table that are no longer caught').toEqual([]);
    expect(unexpected, 'findings not in the table').toEqual([]);
    expect(found).toHaveLength(expected.length);
  });

  it('counts per rule', () => {
    const counts: Record<string, number> = {};
    for (const f of findings) counts[f.rule] = (counts[f.rule] ?? 0) + 1;
    expect(counts).toEqual({
      MISSING_FIELD: 27,
      CLOSE_OUTSIDE_RANGE: 8,
      OPEN_OUTSIDE_RANGE: 3,
      LOW_ABOVE_HIGH: 1,
      MISSING_SESSION: 51,
      EXTREME_WICK: 2,
      SPLIT_LIKE_JUMP: 4,
      REPEATED_BAR: 2133,
    });
  });

  it('BHF 2017-07-26: open, high and low are empty (the first days of a spin-off)', () => {
    expect(findingsOf('BHF', '2017-07-26').map((f) => [f.rule, f.field, f.value, f.line, f.message])).toEqual([
      ['MISSING_FIELD', 'open', '', 9, '2017-07-26 open is missing (got "") (line 9)'],
      ['MISSING_FIELD', 'high', '', 9, '2017-07-26 high is missing (got "") (line 9)'],
      ['MISSING_FIELD', 'low', '', 9, '2017-07-26 low is missing (got "") (line 9)'],
    ]);
  });

  it('LNT 2016-05-19: a close half-adjusted for the 2-for-1 split, below the low', () => {
    expect(findingsOf('LNT', '2016-05-19').map((f) => [f.rule, f.field, f.value, f.message])).toEqual([
      ['CLOSE_OUTSIDE_RANGE', 'close', '17.87', '2016-05-19 close 17.87 is outside [low 35.085, high 35.785] (line 827)'],
    ]);
  });

  it('flags the unadjusted split artifacts and leaves real big moves alone', () => {
    // Discovery's 2014-08-06 share dividend (one DISCK per share), not adjusted: the whole bar halves.
    for (const symbol of ['DISCA', 'DISCK']) {
      expect(findingsOf(symbol, '2014-08-07').map((f) => [f.rule, f.field])).toEqual([['SPLIT_LIKE_JUMP', 'close']]);
    }
    expect(findingsOf('DISCA', '2014-08-07')[0]?.message).toBe(
      '2014-08-07 close 40.975 is 0.494× the previous close 83.02 (2014-08-06) and open/high/low/close all lie within 7% of 1/2× it: looks like an unadjusted 2-for-1 split (line 378)',
    );
    // Real moves: AMD +52% (2016-04-22), VRTX +62% (2013-04-19), CHK -33% (2016-02-08), EBAY after
    // the PayPal spin-off (2015-07-20, 0.43×), BBY -29% (2014-01-16).
    for (const [symbol, date] of [
      ['AMD', '2016-04-22'],
      ['VRTX', '2013-04-19'],
      ['CHK', '2016-02-08'],
      ['EBAY', '2015-07-20'],
      ['BBY', '2014-01-16'],
    ] as const) {
      expect(findingsOf(symbol, date), `${symbol} ${date}`).toEqual([]);
    }
  });

  it('flags the half-adjusted rows: range violations and extreme wicks', () => {
    expect(findingsOf('CHD', '2014-05-19').map((f) => f.message)).toEqual([
      '2014-05-19 open 18.77 is outside [low 33.695, high 33.9525] (line 322)',
    ]);
    expect(findingsOf('HCA', '2015-08-24').map((f) => [f.rule, f.field, f.value])).toEqual([['EXTREME_WICK', 'low', '43.91']]);
  });

  it('flags the missing sessions at the missing dates (ORCL 2013-07-15 and 2013-07-16)', () => {
    expect(findings.filter((f) => f.symbol === 'ORCL' && f.rule === 'MISSING_SESSION').map((f) => f.message)).toEqual([
      '2013-07-15 row is missing: an NYSE session between the bars of 2013-07-12 and 2013-07-17 has no row (line 109)',
      '2013-07-16 row is missing: an NYSE session between the bars of 2013-07-12 and 2013-07-17 has no row (line 109)',
    ]);
  });

  it('flags the vendor copies: NWL 2017-09-14 carries the prices of 2017-12-19', () => {
    expect(findingsOf('NWL', '2017-09-14').map((f) => [f.rule, f.message])).toEqual([
      [
        'SPLIT_LIKE_JUMP',
        '2017-09-14 close 30.81 is 0.697× the previous close 44.22 (2017-09-13) and open/high/low/close all lie within 7% of 2/3× it: looks like an unadjusted 3-for-2 split (line 1160)',
      ],
      [
        'REPEATED_BAR',
        "2017-09-14 open/high/low/close 31.11/31.4/30.8/30.81 are identical to the bar of 2017-12-19 (line 1227): one of them is a copy of another date's bar (line 1160)",
      ],
    ]);
  });
});
