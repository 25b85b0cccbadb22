import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvMarketData } from '../../../lambdas/adapters/market-data/csv';
import {
  barOn,
  selectDecisionWindow,
  validateBarRows,
  type BarDefect,
  type DecisionWindowRequest,
  type RawBarRow,
  type ValidatedBars,
} from '../../../lambdas/core/bars';

const DIRTY_DIR = fileURLToPath(new URL('../../fixtures/market-data/dirty', import.meta.url));

/** A clean row; override what the test is about. */
function row(overrides: Partial<RawBarRow> = {}): RawBarRow {
  return { line: 2, date: '2018-01-02', open: '10', high: '11', low: '9', close: '10.5', volume: '100', ...overrides };
}

/** Calendar day `n` days after 2018-01-01 (weekends included: the core does not care about gaps). */
function day(n: number): string {
  return new Date(Date.UTC(2018, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);
}

/** Clean rows for `count` consecutive days starting at day(0), lines 2.. */
function cleanRows(count: number): RawBarRow[] {
  return Array.from({ length: count }, (_, i) => row({ line: i + 2, date: day(i), close: String(10 + (i % 7) / 10) }));
}

function onlyDefect(rows: RawBarRow[]): BarDefect {
  const { bars, defects } = validateBarRows(rows);
  expect(bars).toEqual([]);
  expect(defects).toHaveLength(1);
  return defects[0] as BarDefect;
}

describe('validateBarRows: clean rows', () => {
  it('turns a clean row into a numeric bar and records its source line', () => {
    const result = validateBarRows([row({ line: 7, volume: '0', open: ' 10.25 ' })]);
    expect(result.defects).toEqual([]);
    expect(result.bars).toEqual([{ date: '2018-01-02', open: 10.25, high: 11, low: 9, close: 10.5, volume: 0 }]);
    expect(result.barLines).toEqual([7]);
  });

  it('accepts open/close exactly at the low or the high, and a flat bar', () => {
    const { bars, defects } = validateBarRows([
      row({ date: '2018-01-02', open: '9', close: '11' }),
      row({ date: '2018-01-03', open: '11', close: '9' }),
      row({ date: '2018-01-04', open: '5', high: '5', low: '5', close: '5' }),
    ]);
    expect(defects).toEqual([]);
    expect(bars).toHaveLength(3);
  });

  it('returns nothing for no rows', () => {
    expect(validateBarRows([])).toEqual({ bars: [], defects: [], barLines: [] });
  });
});

describe('validateBarRows: one test per rule', () => {
  it('MISSING_FIELD for an empty or whitespace-only field', () => {
    expect(onlyDefect([row({ open: '' })])).toEqual({
      line: 2,
      date: '2018-01-02',
      rule: 'MISSING_FIELD',
      field: 'open',
      value: '',
      message: '2018-01-02 open is missing (got "") (line 2)',
    });
    expect(onlyDefect([row({ volume: '   ' })])).toMatchObject({ rule: 'MISSING_FIELD', field: 'volume', value: '   ' });
  });

  it.each(['1e400', 'NaN', '12abc', 'Infinity', '-Infinity', '0x10', '1,5', '1e5', '--1', '.'])(
    'NON_NUMERIC for %j',
    (text) => {
      const defect = onlyDefect([row({ volume: text })]);
      expect(defect).toMatchObject({ rule: 'NON_NUMERIC', field: 'volume', value: text, date: '2018-01-02' });
      expect(defect.message).toBe(`2018-01-02 volume ${JSON.stringify(text)} is not a finite decimal number (line 2)`);
    },
  );

  it('accepts plain decimals in any of the usual spellings', () => {
    const { bars, defects } = validateBarRows([row({ open: '+10', high: '11.', low: '.5', close: '10.50' })]);
    expect(defects).toEqual([]);
    expect(bars[0]).toMatchObject({ open: 10, high: 11, low: 0.5, close: 10.5 });
  });

  it('NON_POSITIVE_PRICE for a zero or negative price', () => {
    expect(onlyDefect([row({ low: '0' })])).toEqual({
      line: 2,
      date: '2018-01-02',
      rule: 'NON_POSITIVE_PRICE',
      field: 'low',
      value: '0',
      message: '2018-01-02 low 0 is not a positive price (line 2)',
    });
    expect(onlyDefect([row({ low: '-0.0' })])).toMatchObject({ rule: 'NON_POSITIVE_PRICE', value: '-0.0' });
  });

  it('NEGATIVE_VOLUME for a negative volume; zero volume is fine', () => {
    expect(onlyDefect([row({ volume: '-5' })])).toEqual({
      line: 2,
      date: '2018-01-02',
      rule: 'NEGATIVE_VOLUME',
      field: 'volume',
      value: '-5',
      message: '2018-01-02 volume -5 is negative (line 2)',
    });
    expect(validateBarRows([row({ volume: '0' })]).defects).toEqual([]);
    // -0 is not negative and becomes a plain 0.
    expect(Object.is(validateBarRows([row({ volume: '-0' })]).bars[0]?.volume, 0)).toBe(true);
  });

  it('LOW_ABOVE_HIGH, without piling range defects on top', () => {
    expect(onlyDefect([row({ low: '12', high: '11', open: '11.5', close: '11.5' })])).toEqual({
      line: 2,
      date: '2018-01-02',
      rule: 'LOW_ABOVE_HIGH',
      field: 'low',
      value: '12',
      message: '2018-01-02 low 12 is above high 11 (line 2)',
    });
  });

  it('OPEN_OUTSIDE_RANGE above the high and below the low', () => {
    expect(onlyDefect([row({ open: '11.01' })])).toEqual({
      line: 2,
      date: '2018-01-02',
      rule: 'OPEN_OUTSIDE_RANGE',
      field: 'open',
      value: '11.01',
      message: '2018-01-02 open 11.01 is outside [low 9, high 11] (line 2)',
    });
    expect(onlyDefect([row({ open: '8.99' })])).toMatchObject({ rule: 'OPEN_OUTSIDE_RANGE', value: '8.99' });
  });

  it('CLOSE_OUTSIDE_RANGE above the high and below the low', () => {
    expect(onlyDefect([row({ close: '8' })])).toEqual({
      line: 2,
      date: '2018-01-02',
      rule: 'CLOSE_OUTSIDE_RANGE',
      field: 'close',
      value: '8',
      message: '2018-01-02 close 8 is outside [low 9, high 11] (line 2)',
    });
    expect(onlyDefect([row({ close: '12' })])).toMatchObject({ rule: 'CLOSE_OUTSIDE_RANGE', value: '12' });
  });

  it.each(['2015-02-29', '2018-13-01', '2018-04-31', '2018-1-2', '2018-01-02T00:00:00Z', '01/02/2018', 'yesterday'])(
    'BAD_DATE for %j',
    (text) => {
      const defect = onlyDefect([row({ date: text })]);
      expect(defect).toMatchObject({ rule: 'BAD_DATE', field: 'date', value: text, date: '' });
      expect(defect.message).toBe(`date ${JSON.stringify(text)} is not a real calendar date YYYY-MM-DD (first row) (line 2)`);
    },
  );

  it('accepts 29 February in a leap year', () => {
    expect(validateBarRows([row({ date: '2016-02-29' })]).defects).toEqual([]);
  });

  it('MISSING_FIELD for an empty date', () => {
    expect(onlyDefect([row({ date: ' ' })])).toMatchObject({ rule: 'MISSING_FIELD', field: 'date', value: ' ', date: '' });
  });

  it('DATE_NOT_INCREASING for a duplicate date', () => {
    const { bars, defects } = validateBarRows([row({ line: 2 }), row({ line: 3, close: '10.6' })]);
    expect(bars).toEqual([{ date: '2018-01-02', open: 10, high: 11, low: 9, close: 10.5, volume: 100 }]);
    expect(defects).toEqual([
      {
        line: 3,
        date: '2018-01-02',
        rule: 'DATE_NOT_INCREASING',
        field: 'date',
        value: '2018-01-02',
        message: "2018-01-02 date repeats the previous valid row's date 2018-01-02 (line 3)",
      },
    ]);
  });
});

describe('validateBarRows: several defects and ordering', () => {
  it('reports every defect of one row, in field order, and drops the row', () => {
    const { bars, defects } = validateBarRows([
      row({ line: 5, date: '2018-02-30', open: '', high: 'n/a', low: '-1', close: '12', volume: '-3' }),
    ]);
    expect(bars).toEqual([]);
    expect(defects.map((d) => [d.rule, d.field, d.value])).toEqual([
      ['BAD_DATE', 'date', '2018-02-30'],
      ['MISSING_FIELD', 'open', ''],
      ['NON_NUMERIC', 'high', 'n/a'],
      ['NON_POSITIVE_PRICE', 'low', '-1'],
      ['NEGATIVE_VOLUME', 'volume', '-3'],
    ]);
    expect(defects.every((d) => d.line === 5 && d.message.endsWith('(line 5)'))).toBe(true);
    // The row's bad date is named in the field defects' messages.
    expect(defects[1]?.message).toBe('row dated "2018-02-30" open is missing (got "") (line 5)');
  });

  it('reports both range defects of one row', () => {
    const { defects } = validateBarRows([row({ open: '20', close: '1' })]);
    expect(defects.map((d) => d.rule)).toEqual(['OPEN_OUTSIDE_RANGE', 'CLOSE_OUTSIDE_RANGE']);
  });

  it('requires strictly increasing dates: duplicates and out-of-order rows are refused, later rows go on', () => {
    const rows = [
      row({ line: 2, date: '2018-01-02' }),
      row({ line: 3, date: '2018-01-03' }),
      row({ line: 4, date: '2018-01-03' }), // duplicate
      row({ line: 5, date: '2018-01-01' }), // out of order
      row({ line: 6, date: '2018-01-04' }),
      row({ line: 7, date: '2018-01-03' }), // out of order again, after a gap
      row({ line: 8, date: '2018-01-05' }),
    ];
    const { bars, defects, barLines } = validateBarRows(rows);
    expect(bars.map((b) => b.date)).toEqual(['2018-01-02', '2018-01-03', '2018-01-04', '2018-01-05']);
    expect(barLines).toEqual([2, 3, 6, 8]);
    expect(defects.map((d) => [d.line, d.rule, d.date])).toEqual([
      [4, 'DATE_NOT_INCREASING', '2018-01-03'],
      [5, 'DATE_NOT_INCREASING', '2018-01-01'],
      [7, 'DATE_NOT_INCREASING', '2018-01-03'],
    ]);
    expect(defects[1]?.message).toBe("2018-01-01 date is before the previous valid row's date 2018-01-03 (line 5)");
  });

  it('compares dates with the previous accepted row, so a corrected duplicate of a defective row is accepted', () => {
    const { bars, defects } = validateBarRows([
      row({ line: 2, date: '2018-01-02' }),
      row({ line: 3, date: '2018-01-03', close: '99' }), // defective
      row({ line: 4, date: '2018-01-03' }), // same date, clean
    ]);
    expect(bars.map((b) => b.date)).toEqual(['2018-01-02', '2018-01-03']);
    expect(defects.map((d) => [d.line, d.rule])).toEqual([[3, 'CLOSE_OUTSIDE_RANGE']]);
  });

  it("anchors a BAD_DATE to the previous valid row's date", () => {
    const { defects } = validateBarRows([
      row({ line: 2, date: '2018-01-02' }),
      row({ line: 3, date: '2018-01-03' }),
      row({ line: 4, date: '2018-01-32', close: '1' }),
    ]);
    expect(defects.map((d) => [d.rule, d.date])).toEqual([
      ['BAD_DATE', '2018-01-03'],
      ['CLOSE_OUTSIDE_RANGE', '2018-01-03'],
    ]);
    expect(defects[0]?.message).toBe(
      'date "2018-01-32" is not a real calendar date YYYY-MM-DD (previous valid row 2018-01-03) (line 4)',
    );
  });

  it('bars are always strictly ascending, whatever the rows (property)', () => {
    const text = fc.oneof(
      fc.constantFrom('', ' ', 'x', '0', '-1', '1e400'),
      fc.integer({ min: 1, max: 30 }).map(String),
    );
    const rows = fc.array(
      fc.record({
        date: fc.oneof(fc.integer({ min: 0, max: 40 }).map(day), fc.constantFrom('', '2018-02-30', 'bad')),
        open: text,
        high: text,
        low: text,
        close: text,
        volume: text,
      }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(rows, (input) => {
        const raw = input.map((r, i) => ({ ...r, line: i + 2 }));
        const { bars, defects, barLines } = validateBarRows(raw);
        for (let i = 1; i < bars.length; i++) expect(bars[i - 1]!.date < bars[i]!.date).toBe(true);
        for (const bar of bars) {
          expect(bar.low).toBeGreaterThan(0);
          expect(bar.low).toBeLessThanOrEqual(bar.high);
          expect(bar.open).toBeGreaterThanOrEqual(bar.low);
          expect(bar.close).toBeLessThanOrEqual(bar.high);
          expect(bar.volume).toBeGreaterThanOrEqual(0);
        }
        // Every row is either a bar or has at least one defect.
        const defectLines = new Set(defects.map((d) => d.line));
        expect(barLines!.length + defectLines.size).toBe(raw.length);
        expect(barLines!.some((line) => defectLines.has(line))).toBe(false);
      }),
    );
  });
});

describe('validateBarRows: real dirty rows (test/fixtures/market-data/dirty, see its README)', () => {
  const source = new CsvMarketData({ dataDir: DIRTY_DIR });

  it.each([
    {
      symbol: 'BHF',
      date: '2017-07-26',
      expected: [
        ['MISSING_FIELD', 'open', ''],
        ['MISSING_FIELD', 'high', ''],
        ['MISSING_FIELD', 'low', ''],
      ],
    },
    { symbol: 'LNT', date: '2016-05-19', expected: [['CLOSE_OUTSIDE_RANGE', 'close', '17.87']] },
    { symbol: 'DHR', date: '2015-07-17', expected: [['MISSING_FIELD', 'open', '']] },
    { symbol: 'WRK', date: '2016-05-13', expected: [['CLOSE_OUTSIDE_RANGE', 'close', '38.39']] },
    { symbol: 'CHD', date: '2014-05-19', expected: [['OPEN_OUTSIDE_RANGE', 'open', '18.77']] },
  ])('$symbol $date', async ({ symbol, date, expected }) => {
    const rows = await source.loadDailyRows(symbol);
    const { bars, defects } = validateBarRows(rows);
    expect(defects.map((d) => [d.rule, d.field, d.value])).toEqual(expected);
    for (const defect of defects) {
      expect(defect.date).toBe(date);
      expect(defect.line).toBe(4);
      expect(defect.message.startsWith(`${date} ${defect.field} `)).toBe(true);
      expect(defect.message.endsWith('(line 4)')).toBe(true);
    }
    // Only the dirty row is dropped.
    expect(bars).toHaveLength(rows.length - 1);
    expect(barOn({ bars, defects }, date)).toBeUndefined();
  });

  it('names date, field, value and range in the LNT message', async () => {
    const { defects } = validateBarRows(await source.loadDailyRows('LNT'));
    expect(defects[0]?.message).toBe('2016-05-19 close 17.87 is outside [low 35.085, high 35.785] (line 4)');
  });
});

describe('selectDecisionWindow', () => {
  const validated = validateBarRows(cleanRows(30)); // day(0) = 2018-01-01 … day(29) = 2018-01-30
  const request = (overrides: Partial<DecisionWindowRequest> = {}): DecisionWindowRequest => ({
    asOf: day(20),
    lookbackBars: 10,
    minBars: 5,
    ...overrides,
  });

  it('keeps the last lookbackBars bars strictly before asOf', () => {
    const window = selectDecisionWindow(validated, request());
    expect(window.ok).toBe(true);
    if (!window.ok) return;
    expect(window.bars.map((b) => b.date)).toEqual(Array.from({ length: 10 }, (_, i) => day(10 + i)));
  });

  it('returns fewer bars than lookbackBars when history is short, but enough', () => {
    const window = selectDecisionWindow(validated, request({ asOf: day(7) }));
    expect(window).toEqual({ ok: true, bars: validated.bars.slice(0, 7) });
  });

  it('works when asOf is after the last bar, and returns a copy', () => {
    const window = selectDecisionWindow(validated, request({ asOf: '2019-01-01' }));
    expect(window.ok && window.bars.map((b) => b.date)).toEqual(Array.from({ length: 10 }, (_, i) => day(20 + i)));
    if (window.ok) window.bars.length = 0;
    expect(validated.bars).toHaveLength(30);
  });

  it('never returns a bar dated on or after asOf, nor more than lookbackBars (property)', () => {
    const input = fc.record({
      present: fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 50 }),
      asOf: fc.integer({ min: -2, max: 65 }),
      lookbackBars: fc.integer({ min: 1, max: 40 }),
      minBars: fc.integer({ min: 0, max: 40 }),
      broken: fc.array(fc.integer({ min: 0, max: 49 }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(input, ({ present, asOf, lookbackBars, minBars, broken }) => {
        const dates = [...present].sort((a, b) => a - b).map(day);
        const rows = dates.map((date, i) => row({ line: i + 2, date, close: broken.includes(i) ? '99' : '10' }));
        const valid = validateBarRows(rows);
        const asOfDate = day(asOf);
        const window = selectDecisionWindow(valid, { asOf: asOfDate, lookbackBars, minBars: Math.min(minBars, lookbackBars) });
        const before = valid.bars.filter((b) => b.date < asOfDate);
        if (window.ok) {
          expect(window.bars.length).toBeLessThanOrEqual(lookbackBars);
          expect(window.bars.every((b) => b.date < asOfDate)).toBe(true);
          expect(window.bars).toEqual(before.slice(-lookbackBars));
        } else {
          expect(window.reason.startsWith(`${window.code}: `)).toBe(true);
          expect(window.code === 'NO_DATA').toBe(before.length === 0);
        }
      }),
    );
  });

  it('does NOT quarantine for a defect older than the window', () => {
    const rows = cleanRows(30);
    rows[3] = { ...rows[3]!, close: '17.87' }; // day(3), well before the window day(10)…day(19)
    const valid = validateBarRows(rows);
    expect(valid.defects).toHaveLength(1);
    const window = selectDecisionWindow(valid, request());
    expect(window.ok && window.bars.map((b) => b.date)).toEqual(Array.from({ length: 10 }, (_, i) => day(10 + i)));
  });

  it('quarantines (BAD_BARS) for a defect inside the window, naming it', () => {
    const rows = cleanRows(30);
    rows[15] = { ...rows[15]!, close: '17.87' };
    const window = selectDecisionWindow(validateBarRows(rows), request());
    expect(window).toEqual({
      ok: false,
      code: 'BAD_BARS',
      reason: `BAD_BARS: ${day(15)} close 17.87 is outside [low 9, high 11] (line 17)`,
    });
  });

  it('quarantines for several defects inside the window, naming the first and counting the others', () => {
    const rows = cleanRows(30);
    // The window becomes day(8), day(9), day(11), day(13)…day(19): both defects fall inside it.
    rows[10] = { ...rows[10]!, open: '' };
    rows[12] = { ...rows[12]!, volume: '-1' };
    const window = selectDecisionWindow(validateBarRows(rows), request());
    expect(window.ok).toBe(false);
    if (window.ok) return;
    expect(window.reason).toBe(`BAD_BARS: ${day(10)} open is missing (got "") (line 12) (+1 more)`);
  });

  it('quarantines for a defect after the last valid bar but before asOf (the missing bar matters)', () => {
    const rows = cleanRows(30);
    rows[19] = { ...rows[19]!, high: '' }; // day(19), the session right before asOf day(20)
    const window = selectDecisionWindow(validateBarRows(rows), request());
    expect(window.ok === false && window.code).toBe('BAD_BARS');
  });

  it('quarantines for a duplicate of the first window bar (the window start is inclusive)', () => {
    const rows = cleanRows(30);
    rows.splice(11, 0, { ...rows[10]!, close: '10.9' }); // a second day(10) row right after the first
    const valid = validateBarRows(rows);
    expect(valid.defects.map((d) => [d.rule, d.date])).toEqual([['DATE_NOT_INCREASING', day(10)]]);
    expect(selectDecisionWindow(valid, request())).toEqual({
      ok: false,
      code: 'BAD_BARS',
      reason: `BAD_BARS: ${day(10)} date repeats the previous valid row's date ${day(10)} (line 12)`,
    });
    // One session later the window starts at day(11): the duplicate is older than the window.
    expect(selectDecisionWindow(valid, request({ asOf: day(21) })).ok).toBe(true);
  });

  it('ignores defects dated on or after asOf', () => {
    const rows = cleanRows(30);
    rows[20] = { ...rows[20]!, close: '0' };
    rows[25] = { ...rows[25]!, close: '0' };
    expect(selectDecisionWindow(validateBarRows(rows), request()).ok).toBe(true);
  });

  it('quarantines for a BAD_DATE row inside the window (anchored to the previous valid row)', () => {
    const rows = cleanRows(30);
    rows[15] = { ...rows[15]!, date: '2018-01-16x' };
    const valid = validateBarRows(rows);
    expect(valid.defects[0]?.date).toBe(day(14));
    const window = selectDecisionWindow(valid, request());
    expect(window.ok === false && window.reason).toBe(
      `BAD_BARS: date "2018-01-16x" is not a real calendar date YYYY-MM-DD (previous valid row ${day(14)}) (line 17)`,
    );
  });

  it('places a defect with an unparseable anchor by source line', () => {
    const odd: BarDefect = { line: 15, date: '', rule: 'BAD_DATE', field: 'date', value: '?', message: 'odd row (line 15)' };
    const inside = selectDecisionWindow({ ...validated, defects: [odd] }, request()); // window lines 12…21
    expect(inside).toEqual({ ok: false, code: 'BAD_BARS', reason: 'BAD_BARS: odd row (line 15)' });
    const outside = selectDecisionWindow({ ...validated, defects: [{ ...odd, line: 40 }] }, request());
    expect(outside.ok).toBe(true);
    // Without source lines for the bars the position is unknown: quarantine to be safe.
    const noLines: ValidatedBars = { bars: validated.bars, defects: [{ ...odd, line: 40 }] };
    expect(selectDecisionWindow(noLines, request()).ok).toBe(false);
  });

  it('INSUFFICIENT_HISTORY when fewer than minBars valid bars precede asOf', () => {
    expect(selectDecisionWindow(validated, request({ asOf: day(4), minBars: 5 }))).toEqual({
      ok: false,
      code: 'INSUFFICIENT_HISTORY',
      reason: `INSUFFICIENT_HISTORY: 4 valid bars before ${day(4)}, need 5`,
    });
    expect(selectDecisionWindow(validated, request({ asOf: day(5), minBars: 5 })).ok).toBe(true);
  });

  it('STALE_DATA when the last bar is not the previous session', () => {
    const window = selectDecisionWindow(validated, request({ asOf: '2018-02-07', previousSession: '2018-02-06' }));
    expect(window).toEqual({ ok: false, code: 'STALE_DATA', reason: 'STALE_DATA: last bar 2018-01-30, expected 2018-02-06' });
    expect(selectDecisionWindow(validated, request({ asOf: day(20), previousSession: day(19) })).ok).toBe(true);
  });

  it('judges a STALE_LAST_BAR series defect as STALE_DATA with its message, after BAD_BARS and INSUFFICIENT_HISTORY', () => {
    const stale: BarDefect = {
      line: 31,
      date: day(30),
      rule: 'STALE_LAST_BAR',
      field: 'date',
      value: day(29),
      message: `${day(30)} row is missing: the last bar is ${day(29)} (line 31)`,
    };
    const expected = { ok: false, code: 'STALE_DATA', reason: `STALE_DATA: ${stale.message}` };
    const withStale: ValidatedBars = { ...validated, defects: [stale] };
    expect(selectDecisionWindow(withStale, request({ asOf: '2018-02-07' }))).toEqual(expected);
    // The defect's message (naming the last bar and its line) is preferred to the bare comparison.
    expect(selectDecisionWindow(withStale, request({ asOf: '2018-02-07', previousSession: '2018-02-06' }))).toEqual(expected);
    // Anchored on asOf: the last bar is the previous session's, nothing is stale.
    expect(selectDecisionWindow(withStale, request({ asOf: day(30) })).ok).toBe(true);
    // A row defect in the window comes first, and the stale defect is not counted with it.
    const rows = cleanRows(30);
    rows[25] = { ...rows[25]!, close: '99' };
    const broken = validateBarRows(rows);
    expect(selectDecisionWindow({ ...broken, defects: [...broken.defects, stale] }, request({ asOf: '2018-02-07' }))).toEqual({
      ok: false,
      code: 'BAD_BARS',
      reason: `BAD_BARS: ${day(25)} close 99 is outside [low 9, high 11] (line 27)`,
    });
    // Too little history comes before staleness.
    const early: ValidatedBars = { ...validated, defects: [{ ...stale, date: day(3) }] };
    expect(selectDecisionWindow(early, request({ asOf: day(4) }))).toMatchObject({ code: 'INSUFFICIENT_HISTORY' });
    expect(selectDecisionWindow(early, request({ asOf: day(6) }))).toMatchObject({ code: 'STALE_DATA' });
  });

  it('NO_DATA when no valid bar precedes asOf', () => {
    expect(selectDecisionWindow(validated, request({ asOf: day(0) }))).toEqual({
      ok: false,
      code: 'NO_DATA',
      reason: `NO_DATA: no valid bars before ${day(0)} (first valid bar ${day(0)})`,
    });
    expect(selectDecisionWindow(validateBarRows([]), request())).toEqual({
      ok: false,
      code: 'NO_DATA',
      reason: `NO_DATA: no valid bars before ${day(20)} (no valid bars at all)`,
    });
    const allBad = validateBarRows([row({ close: 'x' })]);
    expect(selectDecisionWindow(allBad, request())).toMatchObject({
      code: 'NO_DATA',
      reason: `NO_DATA: no valid bars before ${day(20)} (no valid bars at all; 1 defect(s), first: 2018-01-02 close "x" is not a finite decimal number (line 2))`,
    });
  });

  it('throws on an invalid request, naming the field and value', () => {
    expect(() => selectDecisionWindow(validated, request({ asOf: '2018-1-5' }))).toThrow(
      'asOf must be a calendar date YYYY-MM-DD, got "2018-1-5"',
    );
    expect(() => selectDecisionWindow(validated, request({ lookbackBars: 0 }))).toThrow(
      'lookbackBars must be a positive integer, got 0',
    );
    expect(() => selectDecisionWindow(validated, request({ minBars: 2.5 }))).toThrow('minBars must be a non-negative integer, got 2.5');
    expect(() => selectDecisionWindow(validated, request({ minBars: 11 }))).toThrow('minBars 11 exceeds lookbackBars 10');
    expect(() => selectDecisionWindow(validated, request({ previousSession: day(20) }))).toThrow(
      `previousSession ${day(20)} must be before asOf ${day(20)}`,
    );
  });
});

describe('barOn', () => {
  const validated = validateBarRows([
    row({ line: 2, date: '2018-01-02', close: '10.1' }),
    row({ line: 3, date: '2018-01-03', close: '10.2' }),
    row({ line: 4, date: '2018-01-05', close: '10.3' }),
    row({ line: 5, date: '2018-01-08', close: '99' }), // defective
    row({ line: 6, date: '2018-01-09', close: '10.4' }),
  ]);

  it('finds the bar dated exactly date', () => {
    expect(barOn(validated, '2018-01-02')?.close).toBe(10.1);
    expect(barOn(validated, '2018-01-05')?.close).toBe(10.3);
    expect(barOn(validated, '2018-01-09')?.close).toBe(10.4);
  });

  it('is undefined for a gap, a defective row, or outside the data', () => {
    expect(barOn(validated, '2018-01-04')).toBeUndefined();
    expect(barOn(validated, '2018-01-08')).toBeUndefined();
    expect(barOn(validated, '2017-12-29')).toBeUndefined();
    expect(barOn(validated, '2018-01-10')).toBeUndefined();
    expect(barOn({ bars: [], defects: [] }, '2018-01-10')).toBeUndefined();
  });

  it('agrees with a linear scan (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 50 })), fc.integer({ min: -1, max: 51 }), (present, probe) => {
        const dates = [...present].sort((a, b) => a - b).map(day);
        const valid = validateBarRows(dates.map((date, i) => row({ line: i + 2, date })));
        expect(barOn(valid, day(probe))).toEqual(valid.bars.find((b) => b.date === day(probe)));
      }),
    );
  });

  it('throws on a malformed date', () => {
    expect(() => barOn(validated, '20180102')).toThrow('date must be a calendar date YYYY-MM-DD, got "20180102"');
  });
});
