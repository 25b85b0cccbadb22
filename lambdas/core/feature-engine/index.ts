/**
 * The feature engine's public surface: the engine, its column docs and groups, and the batch
 * technical-analysis kernels (see ./engine.ts, ./groups-ta.ts, ./kernels/ta.ts, ./types.ts).
 */
export type { EngineInput, FeatureColumnDoc, FeatureGroup } from './types';
export {
  ALL_GROUPS,
  FEATURE_COLUMNS_ALL,
  FeatureEngine,
  renderFeaturesMarkdown,
  validateEngineInput,
  type EngineResult,
  type EngineStates,
} from './engine';
export { TA_GROUPS } from './groups-ta';
export { STATS_GROUPS } from './groups-stats';
export {
  adxInto,
  atrInto,
  bollingerInto,
  cciInto,
  emaInto,
  macdInto,
  obvInto,
  rsiInto,
  smaInto,
  stochInto,
} from './kernels/ta';
