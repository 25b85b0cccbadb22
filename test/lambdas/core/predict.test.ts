import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SymbolFeatures } from '../../../lambdas/core/features';
import { rankMomentum, REASON_CODES, type Score } from '../../../lambdas/core/predict';

/** An eligible baseline (uptrend, RSI 60, +4% over 20 days, 1.2%/day vol); override what a test needs. */
function feat(symbol: string, over: Partial<SymbolFeatures> = {}): SymbolFeatures {
  return {
    symbol,
    asOf: '2024-06-28',
    bars: 260,
    close: 110,
    sma20: 105,
    sma50: 100,
    rsi14: 60,
    atr14: 2,
    ret20: 0.04,
    vol20: 0.012,
    adv20: 1_000_000,
    ema20: 106,
    macd: 1.5,
    macdSignal: 1.2,
    macdHist: 0.3,
    bbUpper: 112,
    bbLower: 98,
    adx14: 25,
    stochK: 70,
    stochD: 65,
    obv: 5_000_000,
    cci20: 80,
    ...over,
  };
}

const expectedScore = (ret20: number, vol20: number): number => ret20 / (vol20 * Math.sqrt(20));

const code = (s: Score): string => s.reason.slice(0, s.reason.indexOf(':'));

describe('rankMomentum', () => {
  it('scores ret20 / (vol20·√20) and ranks eligible symbols by score descending', () => {
    const out = rankMomentum([
      feat('AAA', { ret20: 0.02, vol20: 0.01 }), // 0.02/(0.01·4.4721) = 0.44721
      feat('BBB', { ret20: 0.1, vol20: 0.02 }), //  0.1/(0.02·4.4721) = 1.11803
      feat('CCC', { ret20: 0.05, vol20: 0.03 }), // 0.05/(0.03·4.4721) = 0.37268
    ]);
    expect(out.map((s) => s.symbol)).toEqual(['BBB', 'AAA', 'CCC']);
    expect(out.map((s) => s.rank)).toEqual([1, 2, 3]);
    expect(out.every((s) => s.eligible)).toBe(true);
    expect(out[0]!.score).toBeCloseTo(1.118033988749895, 12);
    expect(out[1]!.score).toBeCloseTo(0.4472135954999579, 12);
    expect(Math.abs(out[2]!.score! - expectedScore(0.05, 0.03))).toBeLessThanOrEqual(1e-9 * expectedScore(0.05, 0.03));
    // a high-return but very volatile name loses to a steadier one
    const rv = rankMomentum([feat('WILD', { ret20: 0.2, vol20: 0.08 }), feat('CALM', { ret20: 0.06, vol20: 0.01 })]);
    expect(rv.map((s) => s.symbol)).toEqual(['CALM', 'WILD']);
  });

  it('writes the OK reason with ret20, vol20 and score', () => {
    const [s] = rankMomentum([feat('OKAY', { ret20: 0.041, vol20: 0.012 })]);
    expect(s).toEqual({
      symbol: 'OKAY',
      score: expectedScore(0.041, 0.012),
      rank: 1,
      eligible: true,
      reason: 'OK: ret20 4.10% / vol20 1.20%, score 0.7640',
    });
  });

  it('puts ineligible symbols after eligible ones, by symbol, with null score and rank', () => {
    const out = rankMomentum([
      feat('ZED', { rsi14: 85 }),
      feat('MID', { ret20: 0.01 }),
      feat('ABC', { close: 90 }),
      feat('TOP', { ret20: 0.08 }),
    ]);
    expect(out.map((s) => [s.symbol, s.rank, s.eligible])).toEqual([
      ['TOP', 1, true],
      ['MID', 2, true],
      ['ABC', null, false],
      ['ZED', null, false],
    ]);
    expect(out[2]!.score).toBeNull();
    expect(out[3]!.score).toBeNull();
  });

  describe('ineligibility reasons', () => {
    const cases: Array<[string, Partial<SymbolFeatures>, string]> = [
      ['close below SMA50', { close: 101.2, sma50: 103.4, sma20: 104 }, 'TREND_FILTER: close 101.20 <= SMA50 103.40'],
      ['close equal to SMA50', { close: 100, sma50: 100 }, 'TREND_FILTER: close 100.00 <= SMA50 100.00'],
      ['SMA20 below SMA50', { sma20: 99.5 }, 'TREND_FILTER: SMA20 99.50 <= SMA50 100.00'],
      ['SMA20 equal to SMA50', { sma20: 100 }, 'TREND_FILTER: SMA20 100.00 <= SMA50 100.00'],
      ['RSI above 80', { rsi14: 85.456 }, 'OVERBOUGHT: RSI14 85.46 >= 80'],
      ['RSI exactly 80', { rsi14: 80 }, 'OVERBOUGHT: RSI14 80.00 >= 80'],
      ['negative return', { ret20: -0.0123 }, 'NEGATIVE_MOMENTUM: ret20 -1.23% <= 0'],
      ['zero return', { ret20: 0 }, 'NEGATIVE_MOMENTUM: ret20 0.00% <= 0'],
      ['zero volatility', { vol20: 0 }, 'ZERO_VOLATILITY: vol20 0.00% <= 0'],
    ];
    it.each(cases)('%s', (_name, over, reason) => {
      const [s] = rankMomentum([feat('XYZ', over)]);
      expect(s).toEqual({ symbol: 'XYZ', score: null, rank: null, eligible: false, reason });
    });

    it('just inside the thresholds is eligible', () => {
      const [s] = rankMomentum([feat('EDGE', { close: 100.0001, sma20: 100.0001, rsi14: 79.999, ret20: 1e-9, vol20: 1e-9 })]);
      expect(s!.eligible).toBe(true);
      expect(s!.rank).toBe(1);
    });

    it('reports the first failing rule in the documented order', () => {
      const all = { close: 90, sma20: 95, rsi14: 90, ret20: -0.1, vol20: 0 };
      expect(code(rankMomentum([feat('A', all)])[0]!)).toBe('TREND_FILTER');
      expect(code(rankMomentum([feat('A', { ...all, close: 110, sma20: 105 })])[0]!)).toBe('OVERBOUGHT');
      expect(code(rankMomentum([feat('A', { ...all, close: 110, sma20: 105, rsi14: 50 })])[0]!)).toBe('NEGATIVE_MOMENTUM');
      expect(code(rankMomentum([feat('A', { ...all, close: 110, sma20: 105, rsi14: 50, ret20: 0.1 })])[0]!)).toBe(
        'ZERO_VOLATILITY',
      );
      expect(REASON_CODES).toEqual(['TREND_FILTER', 'OVERBOUGHT', 'NEGATIVE_MOMENTUM', 'ZERO_VOLATILITY', 'OK']);
    });
  });

  it('breaks score ties by symbol ascending, whatever the input order', () => {
    const tied = [feat('MSFT'), feat('AAPL'), feat('GOOG'), feat('B'), feat('BA')];
    const orders = [tied, [...tied].reverse(), [tied[2]!, tied[0]!, tied[4]!, tied[1]!, tied[3]!]];
    for (const input of orders) {
      const out = rankMomentum(input);
      expect(out.map((s) => s.symbol)).toEqual(['AAPL', 'B', 'BA', 'GOOG', 'MSFT']);
      expect(out.map((s) => s.rank)).toEqual([1, 2, 3, 4, 5]);
    }
    // code-unit order, not locale order: upper-case before lower-case, '.' before letters
    expect(rankMomentum([feat('BRKB'), feat('BRK.B'), feat('b')]).map((s) => s.symbol)).toEqual(['BRK.B', 'BRKB', 'b']);
  });

  it('is deterministic and independent of input order; ranks are 1..n over eligible (property)', () => {
    const feature = fc.record({
      close: fc.double({ min: 50, max: 150, noNaN: true }),
      sma20: fc.double({ min: 50, max: 150, noNaN: true }),
      sma50: fc.constantFrom(80, 100, 120),
      rsi14: fc.constantFrom(20, 50, 79.9, 80, 95),
      ret20: fc.constantFrom(-0.05, 0, 0.02, 0.05, 0.1),
      vol20: fc.constantFrom(0, 0.01, 0.02, 0.04),
    });
    const universe = fc.uniqueArray(fc.tuple(fc.stringMatching(/^[A-Z]{1,4}$/), feature), {
      selector: ([symbol]) => symbol,
      maxLength: 25,
    });
    fc.assert(
      fc.property(universe, fc.infiniteStream(fc.nat()), (rows, seeds) => {
        const input = rows.map(([symbol, f]) => feat(symbol, f));
        const snapshot = structuredClone(input);
        const out = rankMomentum(input);
        expect(input).toEqual(snapshot); // input not mutated
        expect(rankMomentum(input)).toEqual(out); // same input, same output
        // a deterministic shuffle driven by fast-check's stream
        const shuffled = [...input];
        const it = seeds[Symbol.iterator]();
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = it.next().value! % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        expect(rankMomentum(shuffled)).toEqual(out);

        expect(out).toHaveLength(input.length);
        const eligible = out.filter((s) => s.eligible);
        const ineligible = out.filter((s) => !s.eligible);
        expect(out).toEqual([...eligible, ...ineligible]);
        expect(eligible.map((s) => s.rank)).toEqual(eligible.map((_, i) => i + 1));
        for (let i = 1; i < eligible.length; i++) {
          const a = eligible[i - 1]!;
          const b = eligible[i]!;
          expect(a.score! > b.score! || (a.score === b.score && a.symbol < b.symbol)).toBe(true);
        }
        for (let i = 1; i < ineligible.length; i++) expect(ineligible[i - 1]!.symbol < ineligible[i]!.symbol).toBe(true);
        for (const s of out) {
          const f = input.find((x) => x.symbol === s.symbol)!;
          const shouldBeEligible = f.close > f.sma50 && f.sma20 > f.sma50 && f.rsi14 < 80 && f.ret20 > 0 && f.vol20 > 0;
          expect(s.eligible).toBe(shouldBeEligible);
          expect(REASON_CODES).toContain(code(s));
          expect(code(s) === 'OK').toBe(shouldBeEligible);
          if (shouldBeEligible) expect(s.score).toBe(f.ret20 / (f.vol20 * Math.sqrt(20)));
          else expect([s.score, s.rank]).toEqual([null, null]);
        }
      }),
    );
  });

  it('returns [] for no input', () => {
    expect(rankMomentum([])).toEqual([]);
  });

  it('rejects non-finite features and duplicate symbols', () => {
    expect(() => rankMomentum([feat('AAA'), feat('BAD', { vol20: NaN })])).toThrow(
      'rankMomentum: features[1] (BAD).vol20 must be a finite number, got NaN',
    );
    expect(() => rankMomentum([feat('INF', { close: Infinity })])).toThrow(
      'rankMomentum: features[0] (INF).close must be a finite number, got Infinity',
    );
    expect(() => rankMomentum([feat('AAA'), feat('BBB'), feat('AAA')])).toThrow(
      'rankMomentum: symbol AAA appears more than once (features[2])',
    );
  });
});
