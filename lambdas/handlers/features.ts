/**
 * Step 2, features: computes per symbol the feature engine's 76 columns over the fetched decision
 * window (the benchmark's closes aligned by date for beta/correlation), keeping the last row of
 * each for the model, plus the named fields the risk step uses (SMA 20/50, RSI 14, ATR 14 Wilder,
 * ADV 20, the 20-day return and volatility, …).
 * Artifact in: UNIVERSE, BARS#<symbol>. Artifact out: FEATURES.
 */
import { Buffer } from 'node:buffer';
import { alignBenchmark, computeFeatureRow, ENGINE_COLUMNS, type FeatureRow, type SymbolFeatures } from '../core/features';
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

/** One symbol's row of the FEATURES artifact, or why it has none (`FEATURE_ERROR: …`). */
export type FeatureRowOutcome = { ok: true; row: FeatureRow } | { ok: false; reason: string };

/** The benchmark's dates and closes (USD) from its BARS artifact, as `alignBenchmark` reads them. */
export function benchmarkBarsOf(artifact: BarsArtifact): Array<{ date: string; close: number }> {
  return artifact.date.map((date, i) => ({ date, close: artifact.close[i]! }));
}

/**
 * The features step's computation for one symbol: `computeFeatureRow` over its BARS artifact, with
 * the benchmark's closes aligned by date when `benchmark` is given (null for the benchmark itself or
 * when it has no usable bars: the benchmark columns are then null). Pure; never throws.
 */
export function featureRowOutcome(symbol: string, bars: BarsArtifact, benchmark: ReadonlyArray<{ date: string; close: number }> | null): FeatureRowOutcome {
  try {
    const benchClose = benchmark ? alignBenchmark(bars.date, benchmark) : null;
    return { ok: true, row: computeFeatureRow(symbol, fromColumns(bars), benchClose) };
  } catch (error) {
    return { ok: false, reason: `FEATURE_ERROR: ${(error as Error).message}` };
  }
}

/**
 * A symbol's row computed ahead of the step from `bars` (the symbol's BARS artifact bytes) and
 * `benchmarkBars` (the benchmark's, null when none was used), as `featureRowOutcome(symbol,
 * decodeBarsArtifact(bars), …)`.
 */
export interface PrecomputedFeatureRow {
  bars: Uint8Array;
  benchmarkBars: Uint8Array | null;
  outcome: FeatureRowOutcome;
}

/**
 * Feature rows computed ahead of the step, e.g. by the local runner on a second thread while the
 * sessions before run. Untrusted: the step takes a row only when both byte strings it was computed
 * from equal the artifacts the step read; any other symbol is computed in the step.
 */
export interface FeatureRowPrecompute {
  /** The rows computed for session `tradingDate` by symbol, or undefined when there are none. Never rejects. */
  session(tradingDate: string): Promise<ReadonlyMap<string, PrecomputedFeatureRow> | undefined>;
  /** Told after the step how many of its rows it took precomputed and how many it computed. */
  used?(tradingDate: string, counts: { precomputed: number; computed: number }): void;
}

/** Equal byte strings (both null counts as equal). */
function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/**
 * Computes features for every usable symbol of the run (a row `precompute` offers is taken only
 * when it was computed from exactly the same BARS bytes, so the artifact is the same either way).
 * @param precompute rows computed ahead of the step (the local runner's); none in Lambda.
 * @returns counts of symbols computed and skipped (a skipped symbol carries a FEATURE_ERROR reason).
 * @throws Error when an artifact of the run is missing (steps out of order).
 */
export async function featuresStep(state: PipelineState, deps: Deps, precompute?: FeatureRowPrecompute): Promise<{ symbols: number; skipped: number }> {
  const universe = await deps.artifacts.get<UniverseArtifact>(state.runId, ARTIFACTS.universe);
  const encoded = await deps.artifacts.getMany<Uint8Array>(state.runId, universe.usable.map(ARTIFACTS.bars));
  const engine = { columns: [...ENGINE_COLUMNS], rows: {} as Record<string, Array<number | null>> };
  const artifact: FeaturesArtifact = { features: [], skipped: [], engine };
  const benchmarkBytes = encoded.get(ARTIFACTS.bars(deps.config.benchmark)) ?? null;
  const benchmark = benchmarkBytes ? benchmarkBarsOf(decodeBarsArtifact(benchmarkBytes)) : null;
  const ready = await precompute?.session(state.tradingDate);
  const counts = { precomputed: 0, computed: 0 };
  for (const symbol of universe.usable) {
    const bytes = encoded.get(ARTIFACTS.bars(symbol));
    if (!bytes) throw new Error(`artifact ${ARTIFACTS.bars(symbol)} of run ${state.runId} is missing`);
    const benchmarkUsed = symbol !== deps.config.benchmark ? benchmarkBytes : null;
    const offered = ready?.get(symbol);
    let outcome: FeatureRowOutcome;
    if (offered && sameBytes(offered.bars, bytes) && sameBytes(offered.benchmarkBars, benchmarkUsed)) {
      outcome = offered.outcome;
      counts.precomputed += 1;
    } else {
      outcome = featureRowOutcome(symbol, decodeBarsArtifact(bytes), benchmarkUsed ? benchmark : null);
      counts.computed += 1;
    }
    if (outcome.ok) {
      artifact.features.push(outcome.row.features);
      engine.rows[symbol] = outcome.row.engineRow;
    } else {
      artifact.skipped.push({ symbol, reason: outcome.reason });
    }
  }
  precompute?.used?.(state.tradingDate, counts);
  await deps.artifacts.put(state.runId, ARTIFACTS.features, artifact, deps.clock.now());
  return { symbols: artifact.features.length, skipped: artifact.skipped.length };
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps, precompute?: FeatureRowPrecompute) =>
  makeStepHandler('features', PipelineStateSchema, (state: PipelineState, deps: Deps) => featuresStep(state, deps, precompute), getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());
