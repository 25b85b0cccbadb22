/**
 * Backtest performance metrics (pure): see ./metrics.ts for the definitions, units and sources.
 */
export * from './metrics';
