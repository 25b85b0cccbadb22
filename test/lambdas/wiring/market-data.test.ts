/**
 * MARKET_DATA_SOURCE in the Lambda wiring (depsFromEnv) and the shared factory: which adapter each
 * value builds, what it needs, and the errors that name the missing or invalid setting.
 */
import { describe, expect, it } from 'vitest';
import { AlpacaBarsMarketData } from '../../../lambdas/adapters/market-data/alpaca-bars';
import { AlphaVantageMarketData } from '../../../lambdas/adapters/market-data/alphavantage';
import { CsvMarketData } from '../../../lambdas/adapters/market-data/csv';
import { depsFromEnv } from '../../../lambdas/wiring/deps';
import { apiSourceSymbols, createMarketData, parseAdjustedFlag, parseMarketDataSource } from '../../../lambdas/wiring/market-data';

const API_ENV = {
  API_KEYS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:keys',
  MARKET_DATA_CACHE_TABLE: 'cache',
  STRATEGY_CONFIG: JSON.stringify({ universe: ['MSFT', 'AAPL'] }),
};

describe('MARKET_DATA_SOURCE (depsFromEnv)', () => {
  it('defaults to the CSV folder of DATA_DIR', () => {
    expect(depsFromEnv({ DATA_DIR: '/var/task/data/daily' }).marketData).toBeInstanceOf(CsvMarketData);
    expect(depsFromEnv({ MARKET_DATA_SOURCE: 'csv', DATA_DIR: '/var/task/data/daily' }).marketData).toBeInstanceOf(CsvMarketData);
  });

  it('alphavantage: lists the universe plus the benchmark; adjusted with ALPHAVANTAGE_ADJUSTED=true', async () => {
    const deps = depsFromEnv({ ...API_ENV, MARKET_DATA_SOURCE: 'alphavantage' });
    expect(deps.marketData).toBeInstanceOf(AlphaVantageMarketData);
    expect(await deps.marketData.listSymbols()).toEqual(['AAPL', 'MSFT', 'SPY']);
    expect((deps.marketData as AlphaVantageMarketData).source).toBe('alphavantage');
    expect((deps.marketData as AlphaVantageMarketData).client.baseUrl).toBe('https://www.alphavantage.co');
    const adjusted = depsFromEnv({ ...API_ENV, MARKET_DATA_SOURCE: 'alphavantage', ALPHAVANTAGE_ADJUSTED: 'true', ALPHAVANTAGE_BASE_URL: 'https://av.example.org' });
    expect((adjusted.marketData as AlphaVantageMarketData).source).toBe('alphavantage-adjusted');
    expect((adjusted.marketData as AlphaVantageMarketData).client.baseUrl).toBe('https://av.example.org');
  });

  it('alpaca: Alpaca market data bars at data.alpaca.markets, or APCA_API_DATA_URL', () => {
    const deps = depsFromEnv({ ...API_ENV, MARKET_DATA_SOURCE: 'alpaca' });
    expect(deps.marketData).toBeInstanceOf(AlpacaBarsMarketData);
    expect((deps.marketData as AlpacaBarsMarketData).baseUrl).toBe('https://data.alpaca.markets');
    const other = depsFromEnv({ ...API_ENV, MARKET_DATA_SOURCE: 'alpaca', APCA_API_DATA_URL: 'https://data.sandbox.alpaca.markets/' });
    expect((other.marketData as AlpacaBarsMarketData).baseUrl).toBe('https://data.sandbox.alpaca.markets');
  });

  it('names what is missing or invalid', () => {
    expect(() => depsFromEnv({ MARKET_DATA_SOURCE: 'yahoo' }).marketData).toThrow('MARKET_DATA_SOURCE must be one of csv, alphavantage, alpaca, got "yahoo"');
    expect(() => depsFromEnv({ ...API_ENV, MARKET_DATA_SOURCE: 'alphavantage', STRATEGY_CONFIG: '{}' }).marketData).toThrow(
      'market data source alphavantage needs a universe: an API cannot list every symbol',
    );
    expect(() => depsFromEnv({ ...API_ENV, MARKET_DATA_SOURCE: 'alpaca', MARKET_DATA_CACHE_TABLE: '' }).marketData).toThrow(
      'environment variable MARKET_DATA_CACHE_TABLE (table MarketDataCache) is not set',
    );
    expect(() => depsFromEnv({ ...API_ENV, MARKET_DATA_SOURCE: 'alpaca', API_KEYS_SECRET_ARN: '' }).marketData).toThrow(
      'environment variable API_KEYS_SECRET_ARN is not set',
    );
    expect(() => depsFromEnv({ ...API_ENV, MARKET_DATA_SOURCE: 'alphavantage', ALPHAVANTAGE_ADJUSTED: 'yes' }).marketData).toThrow(
      'ALPHAVANTAGE_ADJUSTED must be "true" or "false", got "yes"',
    );
    expect(() => depsFromEnv({ ...API_ENV, MARKET_DATA_SOURCE: 'alpaca', APCA_API_DATA_URL: 'data.alpaca.markets' }).marketData).toThrow(
      'APCA_API_DATA_URL must be an absolute URL',
    );
  });
});

describe('market-data factory', () => {
  it('parses the source and the adjusted flag', () => {
    expect(parseMarketDataSource(undefined)).toBe('csv');
    expect(parseMarketDataSource('alpaca', '--market-data')).toBe('alpaca');
    expect(() => parseMarketDataSource('CSV', '--market-data')).toThrow('--market-data must be one of csv, alphavantage, alpaca, got "CSV"');
    expect(parseAdjustedFlag(undefined)).toBe(false);
    expect(parseAdjustedFlag('true')).toBe(true);
  });

  it('API symbols: an explicit list wins over the config universe; the benchmark is always added', () => {
    expect(apiSourceSymbols('alpaca', { universe: ['XOM'], benchmark: 'SPY' })).toEqual(['SPY', 'XOM']);
    expect(apiSourceSymbols('alpaca', { universe: ['XOM'], benchmark: 'SPY' }, ['AAPL', 'SPY'])).toEqual(['AAPL', 'SPY']);
  });

  it('csv needs a folder; an API source needs credentials and symbols', () => {
    expect(() => createMarketData({ source: 'csv', env: {} })).toThrow('market data source csv needs a data directory');
    expect(() => createMarketData({ source: 'alpaca', env: {}, symbols: ['AAPL'] })).toThrow('needs a credentials source');
  });
});
