/**
 * A local run on an API market-data source (Alpha Vantage, over a fake fetch): the bundled CSV bars
 * are served as TIME_SERIES_DAILY answers, one symbol gets garbage. Only that symbol is quarantined
 * (NO_DATA, naming it), the run trades the rest, and the fetched bars land in the state directory's
 * cache. No network.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SessionReport } from '../../local/report';
import { createLocalMarketData, runLocal } from '../../local/runner';
import { parseStrategyConfig } from '../../lambdas/core/config';
import { bundledRun, ROOT } from '../support/local-run';

// The handlers create their logger at import time: keep their INFO lines out of the test output.
const logLevel = vi.hoisted(() => {
  const before = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  return before;
});

/** A TIME_SERIES_DAILY answer built from a bundled CSV (newest first, like Alpha Vantage). */
function dailyAnswer(symbol: string): string {
  const file = join(ROOT, 'data/daily', symbol === 'SPY' ? 'SPY.csv' : `${symbol}_data.csv`);
  const records = parse(readFileSync(file, 'utf8'), { columns: true }) as Array<Record<string, string>>;
  const series: Record<string, Record<string, string>> = {};
  for (const r of records.reverse()) {
    series[r.date!] = { '1. open': r.open!, '2. high': r.high!, '3. low': r.low!, '4. close': r.close!, '5. volume': r.volume! };
  }
  return JSON.stringify({ 'Meta Data': { '2. Symbol': symbol }, 'Time Series (Daily)': series });
}

describe('local run with --market-data alphavantage: a garbage answer quarantines only its symbol', { timeout: 120_000 }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tp-av-run-'));
  const universe = ['AAPL', 'JPM', 'MSFT', 'XOM'];
  const requested: string[] = [];
  let report: SessionReport;
  afterAll(() => {
    if (logLevel === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
    else process.env.POWERTOOLS_LOG_LEVEL = logLevel;
    rmSync(stateDir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    const config = parseStrategyConfig({ universe });
    const fakeFetch = (async (input: string | URL | Request) => {
      const url = new URL(String(input));
      const symbol = url.searchParams.get('symbol')!;
      requested.push(symbol);
      if (symbol === 'XOM') return new Response('<html><body>502 Bad Gateway</body></html>', { status: 200 });
      return new Response(dailyAnswer(symbol), { status: 200 });
    }) as typeof fetch;
    const marketData = createLocalMarketData({
      source: 'alphavantage',
      dataDir: join(ROOT, 'data/daily'),
      stateDir,
      config,
      env: { ALPHAVANTAGE_API_KEY: 'test-key', ALPHAVANTAGE_BASE_URL: 'http://127.0.0.1:9' },
      fetch: fakeFetch,
      sleep: async () => undefined,
    });
    const result = await runLocal(bundledRun(['2018-01-02'], { universe }, stateDir, { marketData }));
    report = result.days[0]!;
  });

  it('quarantines XOM with NO_DATA naming the request and the answer; the others are used', () => {
    expect(report.executionError).toBeNull();
    expect(report.orders.length).toBeGreaterThan(0);
    expect(report.orders.every((o) => o.symbol !== 'XOM')).toBe(true);
    expect(report.quarantined).toEqual([
      { symbol: 'XOM', reason: 'NO_DATA: TIME_SERIES_DAILY XOM (outputsize=full): answer is not JSON (HTTP 200): "<html><body>502 Bad Gateway</body></html>"' },
    ]);
    expect(report.universe).toEqual(universe);
  });

  it('fetched every symbol and the benchmark once (in-memory reuse within the run) and cached the good ones', () => {
    expect([...new Set(requested)].sort()).toEqual(['AAPL', 'JPM', 'MSFT', 'SPY', 'XOM']);
    for (const symbol of ['AAPL', 'JPM', 'MSFT', 'SPY']) {
      expect(requested.filter((s) => s === symbol)).toHaveLength(1);
      expect(existsSync(join(stateDir, 'market-data-cache', 'alphavantage', `${symbol}.json`))).toBe(true);
    }
    expect(existsSync(join(stateDir, 'market-data-cache', 'alphavantage', 'XOM.json'))).toBe(false);
  });

  it('names the missing key before anything runs', () => {
    expect(() =>
      createLocalMarketData({ source: 'alphavantage', dataDir: '', stateDir, config: parseStrategyConfig({ universe }), env: {} }),
    ).toThrow('--market-data alphavantage needs ALPHAVANTAGE_API_KEY in the environment (not set)');
    expect(() =>
      createLocalMarketData({ source: 'alpaca', dataDir: '', stateDir, config: parseStrategyConfig({}), env: { APCA_API_KEY_ID: 'k', APCA_API_SECRET_KEY: 's' } }),
    ).toThrow('market data source alpaca needs a universe');
  });
});
