import { describe, expect, it } from 'vitest';
import type { RawBarRow } from '../../../../lambdas/core/bars';
import { WithBenchmark } from '../../../../lambdas/adapters/market-data/with-benchmark';
import { MarketDataError, type MarketDataPort } from '../../../../lambdas/ports';

const row = (close: string): RawBarRow => ({ line: 2, date: '2017-06-01', open: close, high: close, low: close, close, volume: '1' });

class Memory implements MarketDataPort {
  constructor(private readonly data: Record<string, string>) {}
  async listSymbols(): Promise<string[]> {
    return Object.keys(this.data).sort();
  }
  async loadDailyRows(symbol: string): Promise<RawBarRow[]> {
    const close = this.data[symbol];
    if (close === undefined) throw new MarketDataError(symbol, `no data for ${symbol}`);
    return [row(close)];
  }
}

describe('WithBenchmark', () => {
  it('adds the benchmark from the fallback when the primary has none; every other symbol stays primary-only', async () => {
    const source = new WithBenchmark(new Memory({ AAPL: '1', ZTS: '2' }), new Memory({ SPY: '3', AAPL: '99' }), 'SPY');
    expect(await source.listSymbols()).toEqual(['AAPL', 'SPY', 'ZTS']);
    expect((await source.loadDailyRows('SPY'))[0]?.close).toBe('3');
    expect((await source.loadDailyRows('AAPL'))[0]?.close).toBe('1');
    await expect(source.loadDailyRows('MSFT')).rejects.toThrow('no data for MSFT');
  });

  it("prefers the primary's own benchmark", async () => {
    const source = new WithBenchmark(new Memory({ AAPL: '1', SPY: '4' }), new Memory({ SPY: '3' }), 'SPY');
    expect(await source.listSymbols()).toEqual(['AAPL', 'SPY']);
    expect((await source.loadDailyRows('SPY'))[0]?.close).toBe('4');
  });
});
