/**
 * Sector (category) map of the bundled universe, for concentration limits.
 *
 * Classification: GICS sectors (MSCI / S&P Global Market Intelligence, Global Industry
 * Classification Standard) as they stood over the bundled data period, 2013 – early 2018, i.e.
 * BEFORE the September 2018 GICS change that renamed Telecommunication Services to Communication
 * Services and moved media and internet names into it. So during the data period: GOOGL and FB were
 * Information Technology (Internet Software & Services); NFLX, AMZN and PCLN Consumer Discretionary
 * (Internet & Direct Marketing Retail); DIS, CMCSA and CHTR Consumer Discretionary (Media); T and VZ
 * Telecommunication Services; V Information Technology (Data Processing & Outsourced Services, moved
 * to Financials only in 2023); CVS Consumer Staples (Drug Retail).
 *
 * The universe is the files of data/daily (`<TICKER>_data.csv`). SPY.csv is the benchmark (an ETF
 * spanning every sector, not traded by the strategy) and is deliberately NOT in the map: should it
 * ever be held, it falls into the shared UNCLASSIFIED category unless an override names it.
 *
 * Pure: no I/O.
 */

/**
 * The 11 GICS sectors in force from September 2016 (Real Estate split out of Financials) to
 * September 2018 (Telecommunication Services became Communication Services).
 */
export const GICS_SECTORS = [
  'Energy',
  'Materials',
  'Industrials',
  'Consumer Discretionary',
  'Consumer Staples',
  'Health Care',
  'Financials',
  'Information Technology',
  'Telecommunication Services',
  'Utilities',
  'Real Estate',
] as const;

/** One of {@link GICS_SECTORS}. */
export type Sector = (typeof GICS_SECTORS)[number];

/** The category of every symbol with no override and no entry in {@link DEFAULT_SECTOR_MAP}. */
export const UNCLASSIFIED = 'UNCLASSIFIED';

/** GICS sector of each bundled ticker (data/daily, SPY excluded), as classified 2013 – early 2018. */
export const DEFAULT_SECTOR_MAP: Readonly<Record<string, Sector>> = Object.freeze({
  // Information Technology
  AAPL: 'Information Technology',
  AMD: 'Information Technology',
  AVGO: 'Information Technology',
  CSCO: 'Information Technology',
  FB: 'Information Technology',
  GOOGL: 'Information Technology',
  IBM: 'Information Technology',
  INTC: 'Information Technology',
  MSFT: 'Information Technology',
  MU: 'Information Technology',
  NVDA: 'Information Technology',
  ORCL: 'Information Technology',
  QCOM: 'Information Technology',
  V: 'Information Technology',
  // Health Care
  ABBV: 'Health Care',
  AGN: 'Health Care',
  AMGN: 'Health Care',
  BIIB: 'Health Care',
  BMY: 'Health Care',
  CELG: 'Health Care',
  GILD: 'Health Care',
  JNJ: 'Health Care',
  MRK: 'Health Care',
  PFE: 'Health Care',
  UNH: 'Health Care',
  // Financials
  BAC: 'Financials',
  'BRK.B': 'Financials',
  C: 'Financials',
  GS: 'Financials',
  JPM: 'Financials',
  MS: 'Financials',
  WFC: 'Financials',
  // Consumer Discretionary
  AMZN: 'Consumer Discretionary',
  CHTR: 'Consumer Discretionary',
  CMCSA: 'Consumer Discretionary',
  DIS: 'Consumer Discretionary',
  F: 'Consumer Discretionary',
  GM: 'Consumer Discretionary',
  HD: 'Consumer Discretionary',
  LOW: 'Consumer Discretionary',
  MCD: 'Consumer Discretionary',
  NFLX: 'Consumer Discretionary',
  NKE: 'Consumer Discretionary',
  PCLN: 'Consumer Discretionary',
  SBUX: 'Consumer Discretionary',
  // Consumer Staples
  CVS: 'Consumer Staples',
  KO: 'Consumer Staples',
  MO: 'Consumer Staples',
  PEP: 'Consumer Staples',
  PG: 'Consumer Staples',
  PM: 'Consumer Staples',
  WMT: 'Consumer Staples',
  // Industrials
  BA: 'Industrials',
  CAT: 'Industrials',
  GE: 'Industrials',
  // Energy
  CVX: 'Energy',
  SLB: 'Energy',
  XOM: 'Energy',
  // Telecommunication Services
  T: 'Telecommunication Services',
  VZ: 'Telecommunication Services',
});

/**
 * The concentration category of a symbol: `overrides[symbol]` if present, else
 * `DEFAULT_SECTOR_MAP[symbol]`, else {@link UNCLASSIFIED}.
 *
 * - Symbols match exactly (case-sensitive, as the broker and data/daily spell them, e.g. `BRK.B`).
 * - Overrides may name any category string (not only a GICS sector), e.g. a config's own buckets.
 * - ALL unclassified symbols share ONE category, `UNCLASSIFIED`: a concentration limit then counts
 *   them together, the conservative choice (unknown names may well be in the same sector).
 * @throws Error `symbol must be a non-empty string, got <value>` or
 *   `overrides[<symbol>] must be a non-empty string, got <value>`.
 */
export function categoryOf(symbol: string, overrides: Readonly<Record<string, string>> = {}): string {
  if (typeof symbol !== 'string' || symbol === '') {
    throw new Error(`symbol must be a non-empty string, got ${JSON.stringify(symbol)}`);
  }
  if (Object.hasOwn(overrides, symbol)) {
    const category = overrides[symbol];
    if (typeof category !== 'string' || category === '') {
      throw new Error(`overrides[${symbol}] must be a non-empty string, got ${JSON.stringify(category)}`);
    }
    return category;
  }
  return Object.hasOwn(DEFAULT_SECTOR_MAP, symbol) ? (DEFAULT_SECTOR_MAP[symbol] as Sector) : UNCLASSIFIED;
}
