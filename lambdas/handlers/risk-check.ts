/**
 * Step 4, risk-check: reads the kill switch (fresh, failing closed) and the trading-state latch,
 * reconciles the ledger with the broker BEFORE deciding anything (fail-closed: shared/reconcile.ts
 * syncs open orders, cancels stale entries of earlier sessions through cancel-and-verify, and
 * latches HALTED — or REDUCING if configured — with a CRITICAL alert on any discrepancy),
 * freezes the session's account snapshot, and decides every candidate with the pure risk kernel
 * (core/risk). Every decision records `allowed` and a `reason`.
 *
 * The snapshot is frozen per session (first execution wins): a re-run or duplicated execution of
 * the same session decides against the same account and so produces the same intents — whose
 * client_order_ids already exist — instead of new ones sized against positions it just opened.
 *
 * Artifact in: SCORES, FEATURES. Artifact out: DECISIONS.
 */
import { clearHaltIfRearmed, type EffectiveTradingState, type KillSwitchStatus } from '../core/kill-switch';
import type { Score } from '../core/predict';
import { decideEntries, type AccountSnapshot, type Candidate, type RiskDecision } from '../core/risk';
import type { BrokerPort } from '../ports';
import type { Deps } from '../wiring/deps';
import type { FeaturesArtifact } from './features';
import { readKillSwitch } from './shared/kill-switch';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { ARTIFACTS, PipelineStateSchema, type PipelineState } from './shared/pipeline-state';
import { cancelStaleEntries, reconcileWithBroker, syncOpenOrders, type StaleCancel } from './shared/reconcile';
import type { Discrepancy, LedgerFill } from '../core/ledger';

/** What the start-of-run reconciliation did and found. */
export interface StartReconciliation {
  synced: number;
  fillsRecorded: number;
  /** Stale entries of earlier sessions cancelled through cancel-and-verify. */
  cancels: StaleCancel[];
  discrepancies: Discrepancy[];
  /** Trading state latched because of the discrepancies, if any. */
  latched?: 'HALTED' | 'REDUCING';
}

/** Artifact DECISIONS. */
export interface DecisionsArtifact {
  killSwitch: KillSwitchStatus;
  tradingState: EffectiveTradingState;
  snapshot: AccountSnapshot;
  /** True when this execution froze the snapshot; false when it reused an earlier one. */
  snapshotFrozenNow: boolean;
  /** Start-of-run reconciliation (absent in artifacts written before it existed). */
  reconciliation?: StartReconciliation;
  decisions: RiskDecision[];
}

export interface RiskSummary {
  killSwitch: KillSwitchStatus['state'];
  tradingState: EffectiveTradingState['state'];
  candidates: number;
  allowed: number;
  discrepancies: number;
}

/**
 * Decides every candidate of the run (see module doc).
 * @returns the kill switch, the effective trading state and decision counts.
 * @throws Error when the broker cannot be read (the execution fails and alerts; nothing is placed).
 */
export async function riskCheckStep(state: PipelineState, deps: Deps): Promise<RiskSummary> {
  const now = deps.clock.now().toISOString();
  const alert = (severity: 'INFO' | 'HIGH', type: string, message: string) =>
    deps.alerts.publish({ severity, type, message, runId: state.runId, tradingDate: state.tradingDate, at: now });

  const killSwitch = await readKillSwitch(deps.killSwitch);
  if (killSwitch.failedClosed) await alert('HIGH', 'KILL_SWITCH_UNREADABLE', killSwitch.reason);

  let latch = await deps.tradingState.getLatch();
  const cleared = clearHaltIfRearmed(latch, killSwitch, now);
  if (cleared !== latch) {
    await deps.tradingState.setLatch(cleared, { allowClear: true });
    await alert('INFO', 'TRADING_RESUMED', cleared.cause);
    latch = cleared;
  }

  // Reconcile before deciding: a fill nobody noticed, an order nobody placed or a stale entry
  // still working must be known (and fail closed) before any new risk is sized.
  const base = { runId: state.runId, tradingDate: state.tradingDate };
  const synced = await syncOpenOrders(deps, base);
  const errors = [...synced.errors];
  const cancelFills: LedgerFill[] = [];
  const cancels = await cancelStaleEntries(deps, synced.records.values(), base, errors, cancelFills);
  if (errors.length > 0) {
    // The ledger cannot be brought in line with the broker: deciding now could double exposure.
    throw new Error(`start-of-run reconciliation could not sync ${errors.length} order(s); no entries decided: ${errors.join(' | ')}`);
  }
  const reconciled = await reconcileWithBroker(deps, base);
  const reconciliation: StartReconciliation = {
    synced: synced.synced,
    fillsRecorded: synced.fills.length + cancelFills.length,
    cancels,
    discrepancies: reconciled.discrepancies,
    ...(reconciled.latched ? { latched: reconciled.latched } : {}),
  };
  if (reconciled.latched) latch = await deps.tradingState.getLatch();

  const existing = await deps.tradingState.getSnapshot(state.tradingDate);
  const { snapshot, frozenNow } = existing
    ? { snapshot: existing, frozenNow: false }
    : await deps.tradingState.freezeSnapshot(state.tradingDate, await readSnapshot(deps.broker, now));

  const scores = await deps.artifacts.get<Score[]>(state.runId, ARTIFACTS.scores);
  const { features } = await deps.artifacts.get<FeaturesArtifact>(state.runId, ARTIFACTS.features);
  const bySymbol = new Map(features.map((f) => [f.symbol, f]));
  const candidates: Candidate[] = scores
    .filter((s) => s.eligible && s.score !== null && s.rank !== null)
    .slice(0, deps.config.maxCandidates)
    .map((s) => {
      const f = bySymbol.get(s.symbol);
      if (!f) throw new Error(`features for ranked symbol ${s.symbol} missing in run ${state.runId}`);
      return { symbol: s.symbol, rank: s.rank!, score: s.score!, close: f.close, atr14: f.atr14 };
    });

  const result = decideEntries({ killSwitch, latch, snapshot, candidates, config: deps.config });
  const artifact: DecisionsArtifact = {
    killSwitch,
    tradingState: result.tradingState,
    snapshot,
    snapshotFrozenNow: frozenNow,
    reconciliation,
    decisions: result.decisions,
  };
  await deps.artifacts.put(state.runId, ARTIFACTS.decisions, artifact, deps.clock.now());
  return {
    killSwitch: killSwitch.state,
    tradingState: result.tradingState.state,
    candidates: candidates.length,
    allowed: result.decisions.filter((d) => d.allowed).length,
    discrepancies: reconciliation.discrepancies.length,
  };
}

/** Reads cash, equity, positions and open orders from the broker as one snapshot. */
export async function readSnapshot(broker: BrokerPort, asOf: string): Promise<AccountSnapshot> {
  // Sequential on purpose: a broker may update its state on each call (the paper broker catches up).
  const account = await broker.getAccount();
  const positions = await broker.listPositions();
  const orders = await broker.listOrders({ status: 'open' });
  return {
    asOf,
    cash: account.cash,
    equity: account.equity,
    positions: positions.map((p) => ({ symbol: p.symbol, qty: p.qty, avgEntryPrice: p.avgEntryPrice, lastPrice: p.currentPrice })),
    openOrders: orders.map((o) => ({
      clientOrderId: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      type: o.type,
      qty: o.qty,
      filledQty: o.filledQty,
      limitPrice: o.limitPrice,
    })),
  };
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps) => makeStepHandler('risk-check', PipelineStateSchema, riskCheckStep, getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());
