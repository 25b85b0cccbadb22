import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { categoryOf, DEFAULT_SECTOR_MAP, GICS_SECTORS, UNCLASSIFIED } from '../../../../lambdas/core/risk/sectors';

/** Tickers of the bundled universe: `<TICKER>_data.csv` in data/daily (SPY.csv, the benchmark, has no suffix). */
const universe = readdirSync(new URL('../../../../data/daily/', import.meta.url))
  .filter((f) => f.endsWith('_data.csv'))
  .map((f) => f.slice(0, -'_data.csv'.length))
  .sort();

describe('DEFAULT_SECTOR_MAP', () => {
  it('classifies exactly the bundled tickers (data/daily minus SPY), each in a GICS sector', () => {
    expect(universe.length).toBeGreaterThan(50); // the directory was actually read
    expect(universe).not.toContain('SPY');
    expect(Object.keys(DEFAULT_SECTOR_MAP).sort()).toEqual(universe);
    for (const symbol of universe) expect(GICS_SECTORS, symbol).toContain(DEFAULT_SECTOR_MAP[symbol]);
  });

  it('leaves the benchmark ETF out', () => {
    expect(DEFAULT_SECTOR_MAP).not.toHaveProperty('SPY');
    expect(categoryOf('SPY')).toBe(UNCLASSIFIED);
  });

  it('uses the pre-September-2018 GICS sectors', () => {
    expect(GICS_SECTORS).toHaveLength(11);
    expect(GICS_SECTORS).toContain('Telecommunication Services');
    expect(GICS_SECTORS).not.toContain('Communication Services');
  });

  it.each([
    ['AAPL', 'Information Technology'],
    ['GOOGL', 'Information Technology'],
    ['FB', 'Information Technology'],
    ['V', 'Information Technology'],
    ['NFLX', 'Consumer Discretionary'],
    ['AMZN', 'Consumer Discretionary'],
    ['PCLN', 'Consumer Discretionary'],
    ['DIS', 'Consumer Discretionary'],
    ['CMCSA', 'Consumer Discretionary'],
    ['CHTR', 'Consumer Discretionary'],
    ['JPM', 'Financials'],
    ['BRK.B', 'Financials'],
    ['XOM', 'Energy'],
    ['T', 'Telecommunication Services'],
    ['VZ', 'Telecommunication Services'],
    ['CVS', 'Consumer Staples'],
    ['UNH', 'Health Care'],
    ['GE', 'Industrials'],
  ])('%s is %s', (symbol, sector) => {
    expect(categoryOf(symbol)).toBe(sector);
  });
});

describe('categoryOf', () => {
  it('an override wins over the default map', () => {
    expect(categoryOf('AAPL', { AAPL: 'Consumer Hardware' })).toBe('Consumer Hardware');
    expect(categoryOf('XYZ', { XYZ: 'Energy' })).toBe('Energy');
  });

  it('an override for another symbol does not affect this one', () => {
    expect(categoryOf('JPM', { AAPL: 'Energy' })).toBe('Financials');
  });

  it('unknown symbols all share the single UNCLASSIFIED category', () => {
    expect(UNCLASSIFIED).toBe('UNCLASSIFIED');
    expect(categoryOf('ZZZZ')).toBe(UNCLASSIFIED);
    expect(categoryOf('QQQQ')).toBe(categoryOf('ZZZZ'));
    expect(categoryOf('aapl')).toBe(UNCLASSIFIED); // exact, case-sensitive match
  });

  it('does not read inherited object properties as categories', () => {
    expect(categoryOf('toString')).toBe(UNCLASSIFIED);
    expect(categoryOf('constructor', {})).toBe(UNCLASSIFIED);
  });

  it('rejects an empty symbol or override naming it', () => {
    expect(() => categoryOf('')).toThrow('symbol must be a non-empty string, got ""');
    expect(() => categoryOf('AAPL', { AAPL: '' })).toThrow('overrides[AAPL] must be a non-empty string, got ""');
  });
});
