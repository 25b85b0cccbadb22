/**
 * Step 4, risk-check: reads the kill switch (fresh, failing closed) and the trading-state latch
 * (a re-arm after a halt clears it; after a MAX_DRAWDOWN halt it also restarts the high-water mark),
 * keeps the optional broker-side suspend_trade in step with the kill switch, reconciles the ledger
 * with the broker BEFORE deciding anything (shared/reconcile.ts: syncs open orders, cancels stale
 * entries through cancel-and-verify, latches HALTED — or REDUCING — with a CRITICAL alert on any
 * discrepancy), freezes the session's account snapshot, gathers the history (closing-equity curve,
 * closed trades, today's entries, the kernel's memory, today's day lock) and decides every intent
 * with the pure risk kernel (core/risk/kernel.ts). It then carries out the kernel's actions (latch,
 * day lock, memory, alerts), writes every decision to the risk-audit table, and hands the decisions
 * (entries and exits) to the orders step.
 *
 * Actions: `trade` decides the ranked entries; `flatten` (by hand) and `end_of_day` (15:45, with
 * endOfDayFlatten) decide an exit for every position and lock the day.
 *
 * The trade snapshot is frozen per session (first execution wins): a re-run or duplicated execution
 * of the same session decides against the same account and so produces the same intents — whose
 * client_order_ids already exist — instead of new ones sized against positions it just opened.
 * A lost broker connection pages CRITICAL (BROKER_CONNECTION_LOST) and decides nothing.
 *
 * Artifact in: SCORES, FEATURES, BENCHMARK_CLOSES. Artifact out: DECISIONS (DECISIONS#END_OF_DAY).
 */
import { loadCalendar, type Deps } from '../wiring/deps';
import { clearHaltIfRearmed, type EffectiveTradingState, type KillSwitchStatus } from '../core/kill-switch';
import { dec } from '../core/money';
import type { Score } from '../core/predict';
import {
  decideRisk,
  flattenIntents,
  type AccountSnapshot,
  type DayLock,
  type LimitReading,
  type MarketInfo,
  type RiskDecision,
  type RiskIntent,
  type RiskMemory,
  type RiskMetrics,
} from '../core/risk/kernel';
import { closedTrades } from '../core/trades';
import { holdingPeriodExits, oldestOpenLotDates } from '../core/holding';
import { BrokerTransportError, type BrokerPort } from '../ports';
import type { BenchmarkClosesArtifact } from './fetch';
import type { FeaturesArtifact } from './features';
import { readKillSwitch } from './shared/kill-switch';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { ARTIFACTS, PipelineStateSchema, type PipelineState } from './shared/pipeline-state';
import { cancelStaleEntries, reconcileWithBroker, syncOpenOrders, type StaleCancel } from './shared/reconcile';
import type { Discrepancy, LedgerFill } from '../core/ledger';

/** Entry notionals the fat-finger median looks back over. */
export const FAT_FINGER_HISTORY = 50;
/** Sessions before today the STALE_DATA rule may look back over. */
const PRIOR_SESSIONS = 20;

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
  /** Product of the size reductions in force (absent in artifacts written before the risk kernel). */
  sizeMultiplier?: number;
  /** Every account-level limit as evaluated this run. */
  readings?: LimitReading[];
  metrics?: RiskMetrics;
  /** The effective limits (the strategy config) this run decided with. */
  limits?: Record<string, unknown>;
  /** Set when this run must cancel every open order and close every position. */
  flatten?: { cause: string } | null;
  /** Today's day lock after this run, if any (entries locked for the rest of the session). */
  dayLock?: DayLock | null;
  /** Broker-side kill switch (suspend_trade) as read or set this run, when enabled. */
  brokerSuspend?: string;
}

export interface RiskSummary {
  killSwitch: KillSwitchStatus['state'];
  tradingState: EffectiveTradingState['state'];
  candidates: number;
  allowed: number;
  exits: number;
  discrepancies: number;
}

/**
 * Decides every candidate of the run (see module doc).
 * @returns the kill switch, the effective trading state and decision counts.
 * @throws Error when the broker cannot be read (the execution fails and alerts; nothing is placed).
 */
export async function riskCheckStep(state: PipelineState, deps: Deps): Promise<RiskSummary> {
  try {
    return await decideRun(state, deps);
  } catch (error) {
    if (error instanceof BrokerTransportError) {
      // Connection lost: nothing is decided (fail closed); the owner is paged at once.
      await deps.alerts.publish({
        severity: 'CRITICAL',
        type: 'BROKER_CONNECTION_LOST',
        message: `risk check could not reach the broker (${error.kind}: ${error.message}); no entries decided this run`,
        runId: state.runId,
        tradingDate: state.tradingDate,
        at: deps.clock.now().toISOString(),
      });
    }
    throw error;
  }
}

async function decideRun(state: PipelineState, deps: Deps): Promise<RiskSummary> {
  const now = deps.clock.now().toISOString();
  const { config } = deps;
  const action = state.action ?? 'trade';
  const alert = (severity: 'INFO' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL', type: string, message: string) =>
    deps.alerts.publish({ severity, type, message, runId: state.runId, tradingDate: state.tradingDate, at: now });

  const killSwitch = await readKillSwitch(deps.killSwitch);
  if (killSwitch.failedClosed) await alert('HIGH', 'KILL_SWITCH_UNREADABLE', killSwitch.reason);

  let latch = await deps.tradingState.getLatch();
  const cleared = clearHaltIfRearmed(latch, killSwitch, now);
  const rearmedAfterDrawdown = cleared !== latch && latch.cause.startsWith('MAX_DRAWDOWN');
  if (cleared !== latch) {
    await deps.tradingState.setLatch(cleared, { allowClear: true });
    await alert('INFO', 'TRADING_RESUMED', cleared.cause);
    latch = cleared;
  }
  const brokerSuspend = config.brokerSuspendOnHalt ? await syncBrokerSuspension(deps.broker, killSwitch.state === 'HALTED', alert) : undefined;

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

  // The trade run's snapshot is frozen per session (a duplicate decides against the same account);
  // a flatten or end-of-day run reads its own, so it closes the positions as they are now.
  const slot = state.runLock?.slot;
  const snapshotKey = action === 'trade' ? state.tradingDate : `${state.tradingDate}#${slot ?? action}`;
  const existing = await deps.tradingState.getSnapshot(snapshotKey);
  const { snapshot, frozenNow } = existing
    ? { snapshot: existing, frozenNow: false }
    : await deps.tradingState.freezeSnapshot(snapshotKey, await readSnapshot(deps.broker, now));

  const calendar = await loadCalendar(deps.calendar);
  const session = state.session.isSession && state.session.openUtc && state.session.closeUtc
    ? { date: state.tradingDate, openUtc: state.session.openUtc, closeUtc: state.session.closeUtc }
    : null;
  const prior = calendar.sessionsBetween(calendar.first.date, state.tradingDate).filter((s) => s.date < state.tradingDate).slice(-PRIOR_SESSIONS);
  const previous = prior[prior.length - 1];

  // Market info from the features; the benchmark's closes from its bars.
  const { features } = await deps.artifacts.get<FeaturesArtifact>(state.runId, ARTIFACTS.features);
  const market: Record<string, MarketInfo> = {};
  for (const f of features) market[f.symbol] = { lastClose: f.close, lastBarDate: f.asOf, atr14: f.atr14, adv20: f.adv20 ?? null };
  const benchmarkBars = (await deps.artifacts.getMany<BenchmarkClosesArtifact>(state.runId, [ARTIFACTS.benchmarkCloses])).get(ARTIFACTS.benchmarkCloses);
  const benchmark = benchmarkBars && benchmarkBars.close.length > 0
    ? { symbol: config.benchmark, closes: benchmarkBars.close, lastBarDate: benchmarkBars.date[benchmarkBars.date.length - 1]! }
    : null;

  const intents: RiskIntent[] = [];
  let flattenRequest: string | null = null;
  if (action === 'trade') {
    const scores = await deps.artifacts.get<Score[]>(state.runId, ARTIFACTS.scores);
    for (const s of scores.filter((x) => x.eligible && x.score !== null && x.rank !== null).slice(0, config.maxCandidates)) {
      if (!market[s.symbol]) throw new Error(`features for ranked symbol ${s.symbol} missing in run ${state.runId}`);
      intents.push({ kind: 'entry', symbol: s.symbol, side: 'buy', rank: s.rank!, score: s.score! });
    }
    // Positions held for the model's horizon are closed (HOLDING_PERIOD, core/holding.ts).
    if (config.maxHoldingSessions > 0) {
      const since = oldestOpenLotDates(await deps.ledger.listFills());
      const held: Record<string, number> = {};
      for (const [symbol, date] of Object.entries(since)) {
        if (date <= state.tradingDate && calendar.covers(date)) held[symbol] = calendar.sessionsBetween(date, state.tradingDate).length;
      }
      intents.push(...holdingPeriodExits(snapshot, held, config.maxHoldingSessions));
    }
  } else if (action === 'flatten' || config.endOfDayFlatten) {
    flattenRequest = action === 'flatten'
      ? `FLATTEN_REQUESTED: execution ${state.runId} asked to flatten`
      : `END_OF_DAY: flatten ${config.endOfDayMinutesBeforeClose} min before the close`;
    intents.push(...flattenIntents(snapshot, flattenRequest));
  }

  // History: equity curve, closed trades, today's entries, recent entry notionals.
  const equityPoints = await deps.tradingState.listEquity(state.tradingDate, config.metricLookbackSessions + 1);
  const lastPoint = equityPoints[equityPoints.length - 1];
  const sessionStartEquity = lastPoint && previous && lastPoint.date === previous.date ? lastPoint.equity : snapshot.equity;
  const ledgerOrders = await deps.ledger.listOrders();
  const entries = ledgerOrders
    .filter((o) => o.purpose === 'entry' && o.status !== 'rejected' && o.parentClientOrderId === null)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const entriesToday = entries.filter((o) => o.tradingDate === state.tradingDate && o.createdByRunId !== state.runId).length;
  const recentEntryNotionals = entries
    .filter((o) => o.tradingDate < state.tradingDate && o.limitPrice !== null)
    .slice(-FAT_FINGER_HISTORY)
    .map((o) => dec(o.qty).times(dec(o.limitPrice!)).toString());

  let memory: RiskMemory | null = (await deps.tradingState.getRiskMemory()) ?? null;
  if (memory && rearmedAfterDrawdown) {
    // A person re-armed after a MAX_DRAWDOWN halt: the drawdown is measured from here on.
    memory = { ...memory, highWaterMark: snapshot.equity, highWaterMarkAt: now, drawdownRung: 'none' };
  }
  const dayLock = (await deps.tradingState.getDayLock(state.tradingDate)) ?? null;

  const result = decideRisk({
    now,
    session,
    priorSessions: prior.map((s) => s.date),
    killSwitch,
    latch,
    dayLock,
    account: snapshot,
    intents,
    market,
    benchmark,
    history: {
      sessionStartEquity,
      equityCurve: equityPoints.map((p) => Number(p.equity)),
      closedTrades: closedTrades(await deps.ledger.listFills()),
      entriesToday,
      recentEntryNotionals,
      streakSince: previous?.openUtc ?? now,
    },
    memory,
    limits: config,
  });

  // Carry out the kernel's actions: memory, latch, day lock, alerts.
  await deps.tradingState.putRiskMemory(result.memory);
  if (result.actions.latch) await deps.tradingState.setLatch(result.actions.latch);
  let lockAfter: DayLock | null = dayLock;
  if (result.actions.dayLock) lockAfter = await deps.tradingState.setDayLock(result.actions.dayLock);
  const flatten = result.actions.flatten ?? (flattenRequest ? { cause: flattenRequest } : null);
  if (flattenRequest && session) {
    // A flattened day cannot reopen.
    lockAfter = await deps.tradingState.setDayLock({ date: state.tradingDate, cause: `FLATTENED: ${flattenRequest}`, since: now });
  }
  for (const a of result.actions.alerts) await alert(a.severity, a.type, a.message);

  const limits = { ...config } as Record<string, unknown>;
  await deps.riskAudit.record(
    {
      runId: state.runId,
      phase: action,
      tradingDate: state.tradingDate,
      at: now,
      tradingState: result.tradingState,
      sizeMultiplier: result.sizeMultiplier,
      readings: result.readings,
      metrics: result.metrics,
      limits,
    },
    result.decisions.map((d, seq) => ({
      runId: state.runId,
      phase: action,
      tradingDate: state.tradingDate,
      at: now,
      seq,
      symbol: d.symbol,
      kind: d.kind,
      action: d.action,
      allowed: d.allowed,
      rule: d.rule,
      reason: d.reason,
      qty: d.qty,
      adjustedQty: d.adjustedQty ?? null,
    })),
  );

  const artifact: DecisionsArtifact = {
    killSwitch,
    tradingState: result.tradingState,
    snapshot,
    snapshotFrozenNow: frozenNow,
    reconciliation,
    decisions: result.decisions,
    sizeMultiplier: result.sizeMultiplier,
    readings: result.readings,
    metrics: result.metrics,
    limits,
    flatten,
    dayLock: lockAfter,
    ...(brokerSuspend ? { brokerSuspend } : {}),
  };
  await deps.artifacts.put(state.runId, action === 'end_of_day' ? ARTIFACTS.endOfDayDecisions : ARTIFACTS.decisions, artifact, deps.clock.now());
  return {
    killSwitch: killSwitch.state,
    tradingState: result.tradingState.state,
    candidates: intents.filter((i) => i.kind === 'entry').length,
    allowed: result.decisions.filter((d) => d.allowed && d.kind === 'entry').length,
    exits: result.decisions.filter((d) => d.allowed && d.kind === 'exit').length,
    discrepancies: reconciliation.discrepancies.length,
  };
}

/**
 * The optional broker-side layer of the kill switch: Alpaca's `suspend_trade` follows the kill
 * switch (on while it reads HALTED, off otherwise). A broker without it, or a failed call, is
 * reported (HIGH alert on failure) and never stops the run: the pipeline's own kill switch still holds.
 * @returns a one-line description for the report.
 */
export async function syncBrokerSuspension(
  broker: BrokerPort,
  wantSuspended: boolean,
  alert: (severity: 'HIGH' | 'INFO', type: string, message: string) => Promise<void>,
): Promise<string> {
  if (!broker.getTradeSuspended || !broker.setTradeSuspended) return 'broker has no suspend_trade; pipeline kill switch only';
  try {
    const current = await broker.getTradeSuspended();
    if (current === wantSuspended) return `suspend_trade=${current}`;
    await broker.setTradeSuspended(wantSuspended);
    await alert('INFO', 'BROKER_SUSPEND_TRADE', `suspend_trade set to ${wantSuspended} to follow the kill switch`);
    return `suspend_trade=${wantSuspended} (changed)`;
  } catch (error) {
    const message = `could not set suspend_trade=${wantSuspended}: ${(error as Error).message}`;
    await alert('HIGH', 'BROKER_SUSPEND_FAILED', message);
    return message;
  }
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
