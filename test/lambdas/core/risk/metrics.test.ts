import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  averageDailyVolume,
  dailyReturns,
  drawdownFromPeak,
  median,
  regimeCloseCount,
  regimeFilter,
  rollingSharpe,
  ulcerIndex,
} from '../../../../lambdas/core/risk/metrics';

/** Closes from a start price and a list of LOG returns: c_0 = start, c_i = c_{i−1}·e^{r_i}. */
const fromLogReturns = (start: number, r: readonly number[]): number[] =>
  r.reduce<number[]>((acc, x) => [...acc, (acc[acc.length - 1] as number) * Math.exp(x)], [start]);

describe('dailyReturns', () => {
  it('gives e[i]/e[i-1] − 1, one fewer than the points', () => {
    // 110/100 − 1 = 0.1; 99/110 − 1 = −0.1; 108.9/99 − 1 = 0.1
    const r = dailyReturns([100, 110, 99, 108.9]);
    expect(r).toHaveLength(3);
    expect(r[0]).toBeCloseTo(0.1, 12);
    expect(r[1]).toBeCloseTo(-0.1, 12);
    expect(r[2]).toBeCloseTo(0.1, 12);
  });

  it('is empty for fewer than two points', () => {
    expect(dailyReturns([])).toEqual([]);
    expect(dailyReturns([100])).toEqual([]);
  });

  it.each([
    [[100, 0, 50], 'equity[1] must be a finite number > 0, got 0'],
    [[100, 90, -1], 'equity[2] must be a finite number > 0, got -1'],
    [[Number.NaN], 'equity[0] must be a finite number > 0, got NaN'],
    [[100, Number.POSITIVE_INFINITY], 'equity[1] must be a finite number > 0, got Infinity'],
  ])('throws on a bad equity value naming the index: %j', (equity, message) => {
    expect(() => dailyReturns(equity)).toThrow(message);
  });
});

describe('rollingSharpe', () => {
  // [100, 110, 99, 108.9]: r = 0.1, −0.1, 0.1; mean = 0.1/3; deviations 2/30, −4/30, 2/30;
  // Σd² = (4 + 16 + 4)/900 = 0.02667; /2 = 0.01333; sd = 0.11547 = 0.2/√3.
  // mean/sd = (0.1/3)/(0.2/√3) = 1/(2√3) = 1/√12; × √252 = √21 = 4.582576.
  const zigzag = [100, 110, 99, 108.9];

  it('annualizes mean/sampleStdev by √252', () => {
    expect(rollingSharpe(zigzag, 3)).toBeCloseTo(Math.sqrt(21), 9);
    expect(rollingSharpe(zigzag, 3)).toBeCloseTo(4.582576, 6);
  });

  it('subtracts the per-period risk-free rate from the mean only', () => {
    // mean(r − 0.01) = 0.1/3 − 0.01 = 0.07/3; sd unchanged 0.2/√3;
    // (0.07/3)·(√3/0.2)·√252 = 0.07·√756/0.6 = 0.07·27.495454/0.6 = 3.207803
    expect(rollingSharpe(zigzag, 3, { riskFreePerPeriod: 0.01 })).toBeCloseTo(3.207803, 6);
  });

  it('annualizes by the given periodsPerYear', () => {
    // (1/√12)·√12 = 1
    expect(rollingSharpe(zigzag, 3, { periodsPerYear: 12 })).toBeCloseTo(1, 12);
  });

  it('uses only the LAST lookback returns', () => {
    // [200, 100, 110, 99, 108.9]: r = −0.5, 0.1, −0.1, 0.1.
    // lookback 3 drops −0.5 → √21 as above.
    const equity = [200, ...zigzag];
    expect(rollingSharpe(equity, 3)).toBeCloseTo(Math.sqrt(21), 9);
    // lookback 4: mean = (−0.5 + 0.1)/4 = −0.1; deviations −0.4, 0.2, 0, 0.2; Σd² = 0.24; /3 = 0.08;
    // sd = 0.282843; mean/sd = −0.353553 = −1/√8; × √252 = −√31.5 = −5.612486
    expect(rollingSharpe(equity, 4)).toBeCloseTo(-5.612486, 6);
  });

  it('needs lookback + 1 equity points: null below, a value at the boundary', () => {
    expect(rollingSharpe(zigzag, 4)).toBeNull(); // 4 points = 3 returns < 4
    expect(rollingSharpe(zigzag, 3)).not.toBeNull(); // 4 points = 3 returns, exactly enough
    expect(rollingSharpe([], 2)).toBeNull();
  });

  it('zero stdev: ±Infinity by the sign of the mean, null when the mean is 0 too', () => {
    // returns 1, 1, 1 (exact doublings): sd 0, mean 1 > 0
    expect(rollingSharpe([50, 100, 200, 400], 3)).toBe(Number.POSITIVE_INFINITY);
    // returns −0.5 × 3: sd 0, mean < 0
    expect(rollingSharpe([400, 200, 100, 50], 3)).toBe(Number.NEGATIVE_INFINITY);
    // flat: sd 0, mean 0
    expect(rollingSharpe([100, 100, 100], 2)).toBeNull();
    // flat with rf 0.01: sd 0, mean excess −0.01
    expect(rollingSharpe([100, 100, 100], 2, { riskFreePerPeriod: 0.01 })).toBe(Number.NEGATIVE_INFINITY);
  });

  it('rejects bad arguments naming them', () => {
    expect(() => rollingSharpe(zigzag, 1)).toThrow('lookback must be an integer >= 2, got 1');
    expect(() => rollingSharpe(zigzag, 2.5)).toThrow('lookback must be an integer >= 2, got 2.5');
    expect(() => rollingSharpe(zigzag, 3, { periodsPerYear: 0 })).toThrow('periodsPerYear must be a finite number > 0, got 0');
    expect(() => rollingSharpe(zigzag, 3, { riskFreePerPeriod: Number.NaN })).toThrow('riskFreePerPeriod must be a finite number, got NaN');
    // a bad value outside the window still throws
    expect(() => rollingSharpe([-1, ...zigzag], 3)).toThrow('equity[0] must be a finite number > 0, got -1');
  });
});

describe('ulcerIndex', () => {
  const equity = [100, 90, 95, 100, 80];

  it('is the RMS percent drawdown from the running peak', () => {
    // peaks 100 throughout; D = 0, −10, −5, 0, −20 %; ΣD² = 0 + 100 + 25 + 0 + 400 = 525; /5 = 105;
    // UI = √105 = 10.246951
    expect(ulcerIndex(equity, 5)).toBeCloseTo(10.246951, 6);
  });

  it('takes the peak inside the window only', () => {
    // last 4: [90, 95, 100, 80]; peaks 90, 95, 100, 100; D = 0, 0, 0, −20; 400/4 = 100; √100 = 10
    expect(ulcerIndex(equity, 4)).toBeCloseTo(10, 12);
    // last 3: [95, 100, 80]; D = 0, 0, −20; 400/3 = 133.33; √ = 11.547005
    expect(ulcerIndex(equity, 3)).toBeCloseTo(11.547005, 6);
  });

  it('is 0 for a curve that never falls and for a single point', () => {
    expect(ulcerIndex([100, 101, 101, 105], 4)).toBe(0);
    expect(ulcerIndex(equity, 1)).toBe(0);
  });

  it('is null with fewer than lookback points, defined at exactly lookback', () => {
    expect(ulcerIndex(equity, 6)).toBeNull();
    expect(ulcerIndex(equity, 5)).not.toBeNull();
  });

  it('rejects bad arguments naming them', () => {
    expect(() => ulcerIndex(equity, 0)).toThrow('lookback must be an integer >= 1, got 0');
    expect(() => ulcerIndex([100, 0], 2)).toThrow('equity[1] must be a finite number > 0, got 0');
  });
});

describe('drawdownFromPeak', () => {
  it('is equity/hwm − 1 below the peak, 0 at or above it', () => {
    expect(drawdownFromPeak(90, 100)).toBeCloseTo(-0.1, 12); // 90/100 − 1
    expect(drawdownFromPeak(75_000, 100_000)).toBeCloseTo(-0.25, 12); // 0.75 − 1
    expect(drawdownFromPeak(0, 100)).toBe(-1);
    expect(drawdownFromPeak(100, 100)).toBe(0);
    expect(drawdownFromPeak(110, 100)).toBe(0); // above a stale hwm: no drawdown, never positive
  });

  it('throws on a non-positive or non-finite hwm and on a non-finite equity', () => {
    expect(() => drawdownFromPeak(90, 0)).toThrow('highWaterMark must be a finite number > 0, got 0');
    expect(() => drawdownFromPeak(90, -5)).toThrow('highWaterMark must be a finite number > 0, got -5');
    expect(() => drawdownFromPeak(90, Number.NaN)).toThrow('highWaterMark must be a finite number > 0, got NaN');
    expect(() => drawdownFromPeak(Number.NaN, 100)).toThrow('equity must be a finite number, got NaN');
  });
});

describe('regimeFilter', () => {
  // Small windows: smaPeriod 3, volWindow 2, medianWindow 2 → needs max(3, 2 + 2) = 4 closes.
  // With 4 closes there are 3 log returns r1, r2, r3; vols (×√252) at t = 2: sd(r1, r2), t = 3: sd(r2, r3).
  // The sample sd of two values a, b is |a − b|/√2, so vol = |r3 − r2|·√126.
  const small = { smaPeriod: 3, volWindow: 2, medianWindow: 2 };

  it('risk-off when below the SMA AND vol above its median', () => {
    // r = 0.01, 0.01, −0.03 → closes 100, 101.005017, 102.020134, 99.004983
    const closes = fromLogReturns(100, [0.01, 0.01, -0.03]);
    const r = regimeFilter(closes, small);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.close).toBeCloseTo(99.004983, 6);
    // sma = (101.005017 + 102.020134 + 99.004983)/3 = 302.030134/3 = 100.676711
    expect(r.sma).toBeCloseTo(100.676711, 6);
    // vol = |−0.03 − 0.01|·√126 = 0.04·11.224972 = 0.448999; earlier vol = |0.01 − 0.01|·√126 = 0
    expect(r.vol).toBeCloseTo(0.448999, 6);
    // median of [0, 0.448999] = 0.224499
    expect(r.volMedian).toBeCloseTo(0.224499, 6);
    expect(r).toMatchObject({ belowSma: true, volAboveMedian: true, riskOff: true });
  });

  it('not risk-off when below the SMA but vol is below its median', () => {
    // r = 0.05, −0.05, −0.01: vols |−0.1|·√126 = 1.122497, |0.04|·√126 = 0.448999 → vol < median 0.785748
    // closes 100, 105.127110, 100, 99.004983; sma = (105.127110 + 100 + 99.004983)/3 = 101.377364 > close
    const r = regimeFilter(fromLogReturns(100, [0.05, -0.05, -0.01]), small);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.sma).toBeCloseTo(101.377364, 6);
    expect(r.vol).toBeCloseTo(0.448999, 6);
    expect(r.volMedian).toBeCloseTo(0.785748, 6); // (1.122497 + 0.448999)/2
    expect(r).toMatchObject({ belowSma: true, volAboveMedian: false, riskOff: false });
  });

  it('not risk-off when vol is above its median but the close is above the SMA', () => {
    // r = 0.01, 0.01, 0.05: vols 0, 0.04·√126 = 0.448999 → above the median 0.224499
    // closes 100, 101.005017, 102.020134, 107.250818; sma = 310.275969/3 = 103.425323 < close
    const r = regimeFilter(fromLogReturns(100, [0.01, 0.01, 0.05]), small);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.sma).toBeCloseTo(103.425323, 6);
    expect(r).toMatchObject({ belowSma: false, volAboveMedian: true, riskOff: false });
  });

  it('uses strict inequalities: close exactly at the SMA, vol exactly at the median', () => {
    // last 3 closes 98, 102, 100: sma = 300/3 = 100 = close → not below
    const atSma = regimeFilter([100, 98, 102, 100], small);
    expect(atSma).toMatchObject({ ok: true, sma: 100, close: 100, belowSma: false, riskOff: false });
    // medianWindow 1: the median is vol itself → never above it, even in a falling, volatile market
    const oneVol = regimeFilter(fromLogReturns(100, [0.01, 0.01, -0.03]), { ...small, medianWindow: 1 });
    expect(oneVol.ok).toBe(true);
    if (!oneVol.ok) return;
    expect(oneVol.volMedian).toBe(oneVol.vol);
    expect(oneVol).toMatchObject({ belowSma: true, volAboveMedian: false, riskOff: false });
  });

  it('uses only the last closes: earlier history does not move the result', () => {
    const closes = fromLogReturns(100, [0.01, 0.01, -0.03]);
    const longer = regimeFilter([500, 10, 250, ...closes], small);
    const exact = regimeFilter(closes, small);
    expect(longer).toEqual(exact);
  });

  it('needs max(smaPeriod, volWindow + medianWindow) closes: ok:false below, ok:true at the boundary', () => {
    expect(regimeCloseCount()).toBe(273); // max(200, 21 + 252)
    expect(regimeCloseCount(small)).toBe(4); // max(3, 2 + 2)
    expect(regimeCloseCount({ smaPeriod: 5, volWindow: 2, medianWindow: 2 })).toBe(5); // the SMA dominates

    const three = regimeFilter([100, 101, 102], small);
    expect(three).toEqual({ ok: false, reason: 'regime filter needs 4 closes (max(smaPeriod 3, volWindow 2 + medianWindow 2)), got 3' });
    expect(regimeFilter([100, 101, 102, 103], small).ok).toBe(true);

    const smaBound = { smaPeriod: 5, volWindow: 2, medianWindow: 2 };
    expect(regimeFilter([100, 101, 102, 103], smaBound)).toMatchObject({ ok: false, reason: expect.stringContaining('needs 5 closes') });
    expect(regimeFilter([100, 101, 102, 103, 104], smaBound).ok).toBe(true);

    const flat = (n: number): number[] => Array.from({ length: n }, () => 100);
    const short = regimeFilter(flat(272));
    expect(short.ok).toBe(false);
    if (!short.ok) expect(short.reason).toBe('regime filter needs 273 closes (max(smaPeriod 200, volWindow 21 + medianWindow 252)), got 272');
    expect(regimeFilter(flat(273)).ok).toBe(true);
  });

  it('rejects bad options and closes naming them', () => {
    expect(() => regimeFilter([100, 101], { volWindow: 1 })).toThrow('volWindow must be an integer >= 2, got 1');
    expect(() => regimeFilter([100, 101], { smaPeriod: 0 })).toThrow('smaPeriod must be an integer >= 1, got 0');
    expect(() => regimeFilter([100, 101], { medianWindow: 1.5 })).toThrow('medianWindow must be an integer >= 1, got 1.5');
    expect(() => regimeFilter([100, -3])).toThrow('closes[1] must be a finite number > 0, got -3');
  });

  it('matches a naive implementation on SPY with the default windows', () => {
    const csv = readFileSync(new URL('../../../../data/daily/SPY.csv', import.meta.url), 'utf8');
    const closes = csv
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => Number(line.split(',')[4]));
    const r = regimeFilter(closes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // naive: vol at the end of each of the last 252 windows of 21 log returns, from the definitions
    const n = closes.length;
    const volAt = (end: number): number => {
      const rets: number[] = [];
      for (let t = end - 20; t <= end; t++) rets.push(Math.log((closes[t] as number) / (closes[t - 1] as number)));
      const m = rets.reduce((a, b) => a + b, 0) / 21;
      return Math.sqrt(rets.reduce((a, b) => a + (b - m) ** 2, 0) / 20) * Math.sqrt(252);
    };
    const vols = Array.from({ length: 252 }, (_, k) => volAt(n - 252 + k));
    const sorted = [...vols].sort((a, b) => a - b);
    const naiveMedian = ((sorted[125] as number) + (sorted[126] as number)) / 2;
    const naiveSma = closes.slice(n - 200).reduce((a, b) => a + b, 0) / 200;
    expect(r.close).toBe(closes[n - 1]);
    expect(r.sma).toBeCloseTo(naiveSma, 9);
    expect(r.vol).toBeCloseTo(volAt(n - 1), 12);
    expect(r.volMedian).toBeCloseTo(naiveMedian, 12);
    expect(r.riskOff).toBe(r.close < naiveSma && volAt(n - 1) > naiveMedian);
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2); // sorted 1, 2, 3
    expect(median([4, 1, 3, 2])).toBe(2.5); // sorted 1, 2, 3, 4 → (2 + 3)/2
    expect(median([5])).toBe(5);
    expect(median([-1, 10])).toBe(4.5); // (−1 + 10)/2
  });

  it('is null for an empty array and does not mutate its input', () => {
    expect(median([])).toBeNull();
    const input = [4, 1, 3, 2];
    median(input);
    expect(input).toEqual([4, 1, 3, 2]);
  });

  it('sorts numerically, not as strings', () => {
    expect(median([10, 9, 100])).toBe(10); // string sort would give "10","100","9" → 100
  });

  it('throws on a non-finite value naming the index', () => {
    expect(() => median([1, Number.NaN])).toThrow('values[1] must be a finite number, got NaN');
  });
});

describe('averageDailyVolume', () => {
  const volumes = [100, 200, 300, 400];

  it('is the mean of the last window volumes', () => {
    expect(averageDailyVolume(volumes, 3)).toBe(300); // (200 + 300 + 400)/3
    expect(averageDailyVolume(volumes, 4)).toBe(250); // 1000/4
    expect(averageDailyVolume(volumes, 1)).toBe(400);
  });

  it('is null with fewer volumes than the window', () => {
    expect(averageDailyVolume(volumes, 5)).toBeNull();
    expect(averageDailyVolume([], 1)).toBeNull();
  });

  it('rejects bad arguments naming them', () => {
    expect(() => averageDailyVolume(volumes, 0)).toThrow('window must be an integer >= 1, got 0');
    expect(() => averageDailyVolume([100, -1], 1)).toThrow('volumes[1] must be a finite number >= 0, got -1');
  });
});
