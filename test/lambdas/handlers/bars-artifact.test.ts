/**
 * The BARS#<symbol> artifact's bytes (format BRS1): every value comes back exactly (bit for bit,
 * including -0, subnormals and NaN volumes a bad feed could carry), dates and symbol included, and
 * bytes that are not a whole BRS1 artifact are refused with the reason.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBarsArtifact, encodeBarsArtifact, type BarsArtifact } from '../../../lambdas/handlers/fetch';

const sample: BarsArtifact = {
  symbol: 'BRK.B',
  date: ['2017-12-27', '2017-12-28', '2017-12-29'],
  open: [198.11, 198.5, 0.1 + 0.2],
  high: [199.99, Number.MAX_VALUE, 5e-324],
  low: [-0, 197.0000001, 1 / 3],
  close: [198.22, 198.7, 198.3],
  volume: [2_450_000, Number.NaN, 9_007_199_254_740_993],
};

const bits = (values: number[]) => Array.from(new Uint8Array(Float64Array.from(values).buffer));

describe('BARS artifact bytes (encodeBarsArtifact / decodeBarsArtifact)', () => {
  it('gives back exactly what was encoded, bit for bit', () => {
    const decoded = decodeBarsArtifact(encodeBarsArtifact(sample));
    expect(decoded.symbol).toBe('BRK.B');
    expect(decoded.date).toEqual(sample.date);
    for (const column of ['open', 'high', 'low', 'close', 'volume'] as const) expect(bits(decoded[column])).toEqual(bits(sample[column]));
    expect(Object.is(decoded.low[0], -0)).toBe(true);
  });

  it('round-trips any window (property)', () => {
    const day = fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 12 }), fc.array(fc.tuple(day, fc.double(), fc.double(), fc.double(), fc.double(), fc.double()), { maxLength: 400 }), (symbol, rows) => {
        const artifact: BarsArtifact = {
          symbol,
          date: rows.map((r) => r[0]),
          open: rows.map((r) => r[1]),
          high: rows.map((r) => r[2]),
          low: rows.map((r) => r[3]),
          close: rows.map((r) => r[4]),
          volume: rows.map((r) => r[5]),
        };
        const decoded = decodeBarsArtifact(encodeBarsArtifact(artifact));
        expect(decoded.symbol).toBe(symbol);
        expect(decoded.date).toEqual(artifact.date);
        for (const column of ['open', 'high', 'low', 'close', 'volume'] as const) expect(bits(decoded[column])).toEqual(bits(artifact[column]));
      }),
    );
  });

  it('is compact: 300 bars take 44 bytes each plus a small header', () => {
    const n = 300;
    const bytes = encodeBarsArtifact({ symbol: 'AAPL', date: Array(n).fill('2017-01-03'), open: Array(n).fill(1), high: Array(n).fill(1), low: Array(n).fill(1), close: Array(n).fill(1), volume: Array(n).fill(1) });
    expect(bytes.byteLength).toBe(Math.ceil((12 + 4 + n * 10) / 8) * 8 + n * 5 * 8);
  });

  it('refuses to encode columns of different lengths or a malformed date, naming it', () => {
    expect(() => encodeBarsArtifact({ ...sample, close: [1, 2] })).toThrow('BARS#BRK.B: close has 2 values for 3 dates');
    expect(() => encodeBarsArtifact({ ...sample, date: ['2017-12-27', '2017-12-28', '2017/12/29'] })).toThrow('BARS#BRK.B: date[2] must be YYYY-MM-DD, got "2017/12/29"');
  });

  it('refuses bytes that are not a whole BRS1 artifact', () => {
    const bytes = encodeBarsArtifact(sample);
    expect(() => decodeBarsArtifact(bytes.subarray(0, bytes.byteLength - 8))).toThrow(/not a BARS artifact \(format BRS1\): \d+ bytes for 3 bars \(expected \d+\)/);
    expect(() => decodeBarsArtifact(new TextEncoder().encode('{"symbol":"AAPL","close":[1]}'))).toThrow('not a BARS artifact (format BRS1): tag "{\\"sy"');
    expect(() => decodeBarsArtifact(new Uint8Array(3))).toThrow('not a BARS artifact (format BRS1): 3 bytes');
  });

  it('reads an artifact that sits at an offset inside a larger buffer (as a base64 decode may hand it over)', () => {
    const bytes = encodeBarsArtifact(sample);
    const padded = new Uint8Array(bytes.byteLength + 3);
    padded.set(bytes, 3);
    expect(decodeBarsArtifact(padded.subarray(3))).toEqual(decodeBarsArtifact(bytes));
  });
});
