/**
 * Step 2, features: computes per symbol the feature engine's 76 columns over the fetched decision
 * window (the benchmark's closes aligned by date for beta/correlation), keeping the last row of
 * each for the model, plus the named fields the risk step uses (SMA 20/50, RSI 14, ATR 14 Wilder,
 * ADV 20, the 20-day return and volatility, …).
 * Artifact in: UNIVERSE, BARS#<symbol>. Artifact out: FEATURES.
 */
import { alignBenchmark, computeFeatureRow, ENGINE_COLUMNS, type SymbolFeatures } from '../core/features';
import type { Deps } from '../wiring/deps';
import { decodeBarsArtifact, fromColumns, type BarsArtifact, type UniverseArtifact } from './fetch';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { ARTIFACTS, PipelineStateSchema, type PipelineState } from './shared/pipeline-state';

/** Artifact FEATURES. */
export interface FeaturesArtifact {
  features: SymbolFeatures[];
  /**
   * The last row of every feature-engine column per symbol: `rows[symbol][i]` is column
   * `columns[i]` (docs/FEATURES.md), null where undefined. Absent in artifacts written before it existed.
   */
  engine?: { columns: string[]; rows: Record<string, Array<number | null>> };
  /** Symbols whose features could not be computed, with the error. */
  skipped: Array<{ symbol: string; reason: string }>;
}

/**
 * Computes features for every usable symbol of the run.
 * @returns counts of symbols computed and skipped (a skipped symbol carries a FEATURE_ERROR reason).
 * @throws Error when an artifact of the run is missing (steps out of order).
 */
export async function featuresStep(state: PipelineState, deps: Deps): Promise<{ symbols: number; skipped: number }> {
  const universe = await deps.artifacts.get<UniverseArtifact>(state.runId, ARTIFACTS.universe);
  const encoded = await deps.artifacts.getMany<Uint8Array>(state.runId, universe.usable.map(ARTIFACTS.bars));
  const bars = new Map<string, BarsArtifact>([...encoded].map(([name, bytes]) => [name, decodeBarsArtifact(bytes)]));
  const engine = { columns: [...ENGINE_COLUMNS], rows: {} as Record<string, Array<number | null>> };
  const artifact: FeaturesArtifact = { features: [], skipped: [], engine };
  const benchmark = bars.get(ARTIFACTS.bars(deps.config.benchmark));
  const benchBars = benchmark ? benchmark.date.map((date, i) => ({ date, close: benchmark.close[i]! })) : null;
  for (const symbol of universe.usable) {
    const columns = bars.get(ARTIFACTS.bars(symbol));
    if (!columns) throw new Error(`artifact ${ARTIFACTS.bars(symbol)} of run ${state.runId} is missing`);
    try {
      const benchClose = benchBars && symbol !== deps.config.benchmark ? alignBenchmark(columns.date, benchBars) : null;
      const row = computeFeatureRow(symbol, fromColumns(columns), benchClose);
      artifact.features.push(row.features);
      engine.rows[symbol] = row.engineRow;
    } catch (error) {
      artifact.skipped.push({ symbol, reason: `FEATURE_ERROR: ${(error as Error).message}` });
    }
  }
  await deps.artifacts.put(state.runId, ARTIFACTS.features, artifact, deps.clock.now());
  return { symbols: artifact.features.length, skipped: artifact.skipped.length };
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps) => makeStepHandler('features', PipelineStateSchema, featuresStep, getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());
