/**
 * A market-data source with the benchmark supplied by another source when the first has none: e.g.
 * the full S&P 500 folder, which holds no SPY, plus the bundled `data/daily/SPY.csv`. The regime
 * filter and the versus-benchmark features need the benchmark, and without it they fail closed.
 */
import type { RawBarRow } from '../../core/bars';
import type { MarketDataPort } from '../../ports';

/**
 * `MarketDataPort` that serves every symbol from `primary`, and `benchmark` from `fallback` when
 * `primary` does not list it (when it does, `primary` wins). `listSymbols` is then primary's list
 * plus the benchmark, sorted.
 * @throws as the underlying sources do (MarketDataError for a missing or unreadable symbol).
 */
export class WithBenchmark implements MarketDataPort {
  constructor(
    private readonly primary: MarketDataPort,
    private readonly fallback: MarketDataPort,
    private readonly benchmark: string,
  ) {}

  async listSymbols(): Promise<string[]> {
    const symbols = await this.primary.listSymbols();
    return symbols.includes(this.benchmark) ? symbols : [...symbols, this.benchmark].sort();
  }

  async loadDailyRows(symbol: string): Promise<RawBarRow[]> {
    if (symbol !== this.benchmark) return this.primary.loadDailyRows(symbol);
    const own = await this.primary.listSymbols();
    return (own.includes(symbol) ? this.primary : this.fallback).loadDailyRows(symbol);
  }
}
