/**
 * Live-vs-backtest drift of a session, the shell around core/drift.ts: gathers what the run decided
 * (DECISIONS, and DECISIONS#END_OF_DAY when the end-of-day flatten ran), what it actually has in
 * the ledger, and what the backtest engine (the paper broker's pure matching engine) would have
 * done with the same orders on the session's bar, then records the comparison as artifact DRIFT.
 *
 * The backtest side ("shadow"), `simulateBacktestFills`:
 * - a fresh paper account (`newPaperState`) holding the morning decision's cash (the account
 *   snapshot the risk kernel decided with) and, for every sell, the shares it sells (at the
 *   snapshot's mark); nothing else: earlier sessions' orders and stops are not in it;
 * - the orders built exactly as the orders step builds them (`createOrder`: same client_order_id,
 *   tick rounding, OTO stop-loss leg), submitted in the orders step's order (exits, then entries)
 *   with `submitOrder` as orders sent while the session is open: eligible from the session, NOT at
 *   its open (the real run submits at 09:45);
 * - when the end-of-day flatten decided exits, it first cancels the shadow's open orders as
 *   shared/flatten.ts does (all of them on a flatten, else those of the exit symbols), then its
 *   exits are submitted (at the end-of-day decision's time);
 * - then `processSession` plays the session's bar per symbol with the strategy's costs
 *   (`paperCostsOf(config)`: slippage and commission, as the paper broker).
 * A symbol whose bar of the session is not available (no market data, or no valid row for the
 * date: not there yet, or a defect) is not simulated: its orders get outcome `unknown` with the
 * reason, never a guess.
 *
 * With the paper broker the live side IS this engine on this bar with these costs, so the drift
 * must be zero differences and 0 bps (up to orders the real account could not fund or had to
 * share with earlier orders).
 *
 * Limits of this first step: stop-loss legs are compared on their trigger only (a leg that fills
 * in the session is not compared); fills are the session's own (a gtc entry filled on a later
 * session is not in this session's drift).
 */
import { barOn, validateBarRows, type Bar } from '../../core/bars';
import type { Session } from '../../core/calendar';
import { deriveClientOrderId } from '../../core/client-order-id';
import { computeDrift, type BacktestFill, type BacktestOrder, type DriftReport, type LiveOrder, type PlacementNote } from '../../core/drift';
import type { LedgerFill, LedgerOrder } from '../../core/ledger';
import { Dec, dec } from '../../core/money';
import { createOrder, toSubmitRequest, type Order } from '../../core/order';
import { newPaperState, processSession, submitOrder, cancelOrder, type PaperCosts, type PaperState } from '../../adapters/broker/paper/engine';
import { paperCostsOf } from '../../adapters/broker/paper/paper-broker';
import { isOpenStatus } from '../../core/order-status';
import { BrokerError } from '../../ports';
import { loadCalendar, type Deps } from '../../wiring/deps';
import { entryOrderOf, type OrdersArtifact } from '../orders';
import type { DecisionsArtifact } from '../risk-check';
import { ARTIFACTS, type PipelineState } from './pipeline-state';

/** Artifact DRIFT when it could be computed. */
export interface SessionDrift extends DriftReport {
  /** ISO-8601 UTC. */
  computedAt: string;
  /** The decision artifacts the backtest orders come from (DECISIONS, DECISIONS#END_OF_DAY). */
  sources: string[];
  /** The shadow account's starting cash, USD (the morning decision's snapshot cash). */
  shadowCash: string | null;
  /** The costs the backtest fills were simulated with. */
  costs: PaperCosts;
}

/** Artifact DRIFT: the drift, or why it could not be computed. */
export type DriftArtifact = SessionDrift | { computedAt: string; error: string };

/** What goes into the Step Functions payload and the VERIFICATION artifact: counts and the mean gap only. */
export type DriftSummary =
  | { compared: number; differing: number; unknown: number; meanGapBps: number | null }
  | { error: string };

/**
 * The drift in the step's output (the Step Functions payload): flat counts and the mean gap, so
 * they print and filter as plain values. All null, with `driftError`, when it could not be computed.
 */
export interface DriftOutputFields {
  driftCompared: number | null;
  driftDiffering: number | null;
  /** Backtest orders whose outcome is unknown (no bar). */
  driftUnknown: number | null;
  /** Mean fill-price gap, bps (+ = live worse than the backtest); null when nothing filled on both sides. */
  driftMeanGapBps: number | null;
  driftError?: string;
}

/** The step-output fields of a drift summary. */
export function driftOutputFields(summary: DriftSummary): DriftOutputFields {
  if ('error' in summary) return { driftCompared: null, driftDiffering: null, driftUnknown: null, driftMeanGapBps: null, driftError: summary.error };
  return { driftCompared: summary.compared, driftDiffering: summary.differing, driftUnknown: summary.unknown, driftMeanGapBps: summary.meanGapBps };
}

/** One group of shadow submissions (the morning orders, or the end-of-day flatten's). */
export interface ShadowBatch {
  /** ISO-8601 UTC submission time (the decision's snapshot time). */
  submittedAt: string;
  /** Before submitting: cancel the shadow's open orders — `all`, those of the listed symbols, or none (null). */
  cancelFirst: 'all' | readonly string[] | null;
  /** In submission order. */
  orders: readonly Order[];
}

export interface ShadowInput {
  session: Session;
  /** Starting cash, USD (decimal string). */
  cash: string;
  /** Marks (USD per share) of the positions the sells come from, by symbol (absent: the bar's open). */
  marks?: Readonly<Record<string, string>>;
  batches: readonly ShadowBatch[];
  /** The session's bar per symbol, or why it is not available. */
  bars: ReadonlyMap<string, Bar | { unavailable: string }>;
  costs: PaperCosts;
}

/**
 * Simulates the backtest engine on the session's bar (see module doc).
 * @returns one outcome per order of every batch, in submission order.
 * @throws Error when a symbol of an order has no entry in `bars`, or the engine refuses to play the session.
 */
export function simulateBacktestFills(input: ShadowInput): BacktestFill[] {
  const { session } = input;
  const barOf = (symbol: string): Bar | undefined => {
    const bar = input.bars.get(symbol);
    if (bar === undefined) throw new Error(`simulateBacktestFills: no bar entry for ${symbol}`);
    return 'unavailable' in bar ? undefined : bar;
  };
  const all = input.batches.flatMap((b) => b.orders);
  const cash = dec(input.cash, 'cash');
  let state: PaperState = newPaperState('drift-shadow', cash.gt(0) ? cash.toString() : '1', input.batches[0]?.submittedAt ?? session.openUtc, null);
  if (!cash.gt(0)) state = { ...state, cash: cash.toString(), initialCash: cash.toString() };
  // The shares every sell needs (sells close positions the account held at the decision).
  const seeded = new Map<string, Dec>();
  for (const o of all) if (o.side === 'sell') seeded.set(o.symbol, (seeded.get(o.symbol) ?? new Dec(0)).plus(dec(o.qty)));
  for (const [symbol, qty] of seeded) {
    const mark = input.marks?.[symbol] ?? (barOf(symbol) ? String(barOf(symbol)!.open) : undefined);
    if (mark === undefined) continue; // no bar: its orders are not simulated
    state.positions[symbol] = { qty: qty.toString(), avgEntryPrice: mark, lastPrice: mark };
  }

  const outcomes = new Map<string, BacktestFill>();
  for (const batch of input.batches) {
    if (batch.cancelFirst !== null) {
      const symbols = batch.cancelFirst === 'all' ? undefined : new Set(batch.cancelFirst);
      for (const o of state.orders) {
        if (o.parentId !== null || !isOpenStatus(o.status) || (symbols && !symbols.has(o.symbol))) continue;
        state = cancelOrder(state, o.id, batch.submittedAt);
      }
    }
    for (const order of batch.orders) {
      const bar = input.bars.get(order.symbol);
      if (bar === undefined) throw new Error(`simulateBacktestFills: no bar entry for ${order.symbol}`);
      if ('unavailable' in bar) {
        outcomes.set(order.clientOrderId, { clientOrderId: order.clientOrderId, status: 'unknown', reason: bar.unavailable });
        continue;
      }
      try {
        state = submitOrder(state, toSubmitRequest(order), {
          now: batch.submittedAt,
          eligibleFrom: session.date,
          eligibleAtOpen: false,
          marketOpen: true,
          knownSymbol: true,
          referencePrice: state.positions[order.symbol]?.lastPrice ?? String(bar.open),
        }).state;
      } catch (error) {
        if (!(error instanceof BrokerError)) throw error;
        outcomes.set(order.clientOrderId, { clientOrderId: order.clientOrderId, status: 'rejected', reason: `${error.status} ${error.message}` });
      }
    }
  }

  state = processSession(state, session, (symbol) => barOf(symbol), input.costs);
  return all.map((order) => {
    const known = outcomes.get(order.clientOrderId);
    if (known) return known;
    const o = state.orders.find((x) => x.clientOrderId === order.clientOrderId)!;
    if (dec(o.filledQty).gt(0)) return { clientOrderId: o.clientOrderId, status: 'filled', filledQty: o.filledQty, avgPrice: o.filledAvgPrice! };
    const bar = barOf(o.symbol)!;
    const ohlc = `open ${bar.open}, high ${bar.high}, low ${bar.low}, close ${bar.close}`;
    const what = o.type === 'limit' ? `limit ${o.limitPrice}` : o.type === 'stop' ? `stop ${o.stopPrice}` : o.type;
    const reason = o.note !== null ? `${o.status}: ${o.note}` : `${o.side} ${what} not reached by the ${session.date} bar (${ohlc}); status ${o.status}`;
    return { clientOrderId: o.clientOrderId, status: 'unfilled', reason };
  });
}

/**
 * The orders the orders step builds from one DECISIONS artifact: exits first (market, day, the
 * decided qty), then every allowed entry with qty ≥ 1 (limit + stop-loss leg, OTO, gtc).
 * @throws Error from createOrder when a decision cannot make a valid order (the orders step would refuse it too).
 */
export function backtestOrdersOf(decided: DecisionsArtifact, ctx: { strategyId: string; tradingDate: string; fractionalShares: boolean }): Order[] {
  const out: Order[] = [];
  for (const d of decided.decisions.filter((x) => x.allowed && x.kind === 'exit')) {
    const purpose = d.purpose ?? 'flatten';
    const qty = dec(d.qty ?? '0', `exit ${d.symbol}.qty`);
    if (qty.lte(0)) continue; // nothing to close: the orders step sends nothing either
    out.push(
      createOrder(
        {
          clientOrderId: deriveClientOrderId({ strategyId: ctx.strategyId, sessionDate: ctx.tradingDate, symbol: d.symbol, side: d.side, purpose }),
          strategyId: ctx.strategyId,
          tradingDate: ctx.tradingDate,
          symbol: d.symbol,
          side: d.side,
          type: 'market',
          timeInForce: 'day',
          orderClass: 'simple',
          purpose,
          qty: qty.toString(),
        },
        { allowFractional: ctx.fractionalShares || !qty.isInteger() },
      ),
    );
  }
  for (const d of decided.decisions.filter((x) => x.allowed && x.kind !== 'exit' && x.plan && x.plan.qty >= 1)) {
    out.push(entryOrderOf(d, ctx));
  }
  return out;
}

/**
 * The run's live orders of the session, for core/drift: top-level ledger orders of `tradingDate`
 * that this run created or submitted, or that it decided (`decidedIds`); stop-loss legs folded
 * into their parent; fills counted only when they happened in the session.
 */
export function liveOrdersOf(orders: readonly LedgerOrder[], fills: readonly LedgerFill[], ctx: { runId: string; tradingDate: string; decidedIds: ReadonlySet<string> }): LiveOrder[] {
  const legs = new Map<string, LedgerOrder>();
  for (const o of orders) if (o.parentClientOrderId !== null && o.purpose === 'stop_loss') legs.set(o.parentClientOrderId, o);
  const fillsOf = new Map<string, LedgerFill[]>();
  for (const f of fills) fillsOf.set(f.clientOrderId, [...(fillsOf.get(f.clientOrderId) ?? []), f]);
  return orders
    .filter((o) => o.parentClientOrderId === null && o.tradingDate === ctx.tradingDate)
    .filter((o) => o.createdByRunId === ctx.runId || o.submittedByRunId === ctx.runId || ctx.decidedIds.has(o.clientOrderId))
    .map((o) => {
      const own = fillsOf.get(o.clientOrderId);
      let filledQty = dec(o.filledQty);
      let filledAvgPrice = o.filledAvgPrice;
      if (own && own.length > 0) {
        const inSession = own.filter((f) => f.sessionDate === ctx.tradingDate);
        filledQty = inSession.reduce((s, f) => s.plus(dec(f.qty)), new Dec(0));
        filledAvgPrice = filledQty.gt(0) ? inSession.reduce((s, f) => s.plus(dec(f.qty).times(dec(f.price))), new Dec(0)).div(filledQty).toString() : null;
      }
      return {
        clientOrderId: o.clientOrderId,
        symbol: o.symbol,
        side: o.side,
        type: o.type,
        qty: o.qty,
        limitPrice: o.limitPrice,
        stopLossPrice: legs.get(o.clientOrderId)?.stopPrice ?? o.stopLossPrice,
        status: o.status,
        statusReason: o.statusReason,
        atBroker: o.brokerOrderId !== null,
        filledQty: filledQty.toString(),
        filledAvgPrice: filledQty.gt(0) ? filledAvgPrice : null,
      };
    });
}

/**
 * Computes the drift of the run's session (see module doc).
 * @throws any error on the way (a missing session time, a malformed artifact, a ledger read, …):
 *   the caller (`recordSessionDrift`) records it.
 */
export async function computeSessionDrift(deps: Deps, state: PipelineState): Promise<SessionDrift> {
  const date = state.tradingDate;
  const names = [ARTIFACTS.decisions, ARTIFACTS.endOfDayDecisions, ARTIFACTS.orders, ARTIFACTS.endOfDayOrders];
  const artifacts = await deps.artifacts.getMany<unknown>(state.runId, names);
  const morning = artifacts.get(ARTIFACTS.decisions) as DecisionsArtifact | undefined;
  const endOfDay = artifacts.get(ARTIFACTS.endOfDayDecisions) as DecisionsArtifact | undefined;
  const ctx = { strategyId: deps.config.strategyId, tradingDate: date, fractionalShares: deps.config.fractionalShares };

  const batches: ShadowBatch[] = [];
  const sources: string[] = [];
  if (morning) {
    sources.push(ARTIFACTS.decisions);
    batches.push({ submittedAt: morning.snapshot.asOf, cancelFirst: null, orders: backtestOrdersOf(morning, ctx) });
  }
  if (endOfDay) {
    sources.push(ARTIFACTS.endOfDayDecisions);
    const exits = endOfDay.decisions.filter((d) => d.allowed && d.kind === 'exit');
    const flattens = exits.length > 0 || Boolean(endOfDay.flatten);
    batches.push({
      submittedAt: endOfDay.snapshot.asOf,
      cancelFirst: !flattens ? null : endOfDay.flatten ? 'all' : exits.map((d) => d.symbol),
      orders: backtestOrdersOf(endOfDay, ctx),
    });
  }
  // An end-of-day exit derives the same id as a morning exit of the symbol: the orders step would
  // find it in the ledger and never send it twice, so the shadow keeps the first one only.
  const kept = new Set<string>();
  for (const b of batches) b.orders = b.orders.filter((o) => !kept.has(o.clientOrderId) && Boolean(kept.add(o.clientOrderId)));

  const costs = paperCostsOf(deps.config);
  let fills: BacktestFill[] = [];
  const all = batches.flatMap((b) => b.orders);
  if (all.length > 0) {
    const session = await sessionOf(deps, state);
    const bars = new Map<string, Bar | { unavailable: string }>();
    for (const symbol of new Set(all.map((o) => o.symbol))) bars.set(symbol, await sessionBar(deps, symbol, date));
    // Marks of the positions the sells close (the later snapshot's where both have one).
    const marks: Record<string, string> = {};
    for (const p of [...(morning?.snapshot.positions ?? []), ...(endOfDay?.snapshot.positions ?? [])]) marks[p.symbol] = p.lastPrice;
    fills = simulateBacktestFills({ session, cash: morning?.snapshot.cash ?? endOfDay!.snapshot.cash, marks, batches, bars, costs });
  }

  const decidedIds = new Set(all.map((o) => o.clientOrderId));
  // The last placement reported for each id (the end-of-day flatten's after the morning's).
  const placements = new Map<string, PlacementNote>();
  for (const name of [ARTIFACTS.orders, ARTIFACTS.endOfDayOrders]) {
    const placed = artifacts.get(name) as OrdersArtifact | undefined;
    for (const p of placed?.placements ?? []) placements.set(p.clientOrderId, { clientOrderId: p.clientOrderId, outcome: p.outcome, ...(p.detail !== undefined ? { detail: p.detail } : {}) });
  }

  const report = computeDrift({
    tradingDate: date,
    backtestOrders: all.map(toBacktestOrder),
    backtestFills: fills,
    liveOrders: liveOrdersOf(await deps.ledger.listOrders(), await deps.ledger.listFills(), { runId: state.runId, tradingDate: date, decidedIds }),
    placements: [...placements.values()],
  });
  return {
    ...report,
    computedAt: deps.clock.now().toISOString(),
    sources,
    shadowCash: morning?.snapshot.cash ?? endOfDay?.snapshot.cash ?? null,
    costs,
  };
}

/** The Step Functions / VERIFICATION summary of a drift artifact. */
export function summarizeDrift(drift: DriftArtifact): DriftSummary {
  if ('error' in drift) return { error: drift.error.slice(0, 200) };
  return { compared: drift.totals.ordersCompared, differing: drift.totals.ordersDiffering, unknown: drift.totals.backtestUnknown, meanGapBps: drift.totals.meanGapBps };
}

/**
 * Computes the session's drift and stores it as artifact DRIFT. Never throws and never touches
 * trading: a failure is recorded as `{ error }` in the artifact and published as a MEDIUM
 * `DRIFT_UNAVAILABLE` alert.
 * @param compute the computation (tests inject a failing one); default computeSessionDrift.
 * @returns the summary for the step output.
 */
export async function recordSessionDrift(deps: Deps, state: PipelineState, compute: typeof computeSessionDrift = computeSessionDrift): Promise<DriftSummary> {
  const now = () => deps.clock.now().toISOString();
  let artifact: DriftArtifact;
  try {
    artifact = await compute(deps, state);
  } catch (error) {
    artifact = { computedAt: now(), error: describeError(error) };
  }
  try {
    await deps.artifacts.put(state.runId, ARTIFACTS.drift, artifact, deps.clock.now());
  } catch (error) {
    if (!('error' in artifact)) artifact = { computedAt: now(), error: `the DRIFT artifact could not be stored: ${describeError(error)}` };
  }
  if ('error' in artifact) {
    try {
      await deps.alerts.publish({
        severity: 'MEDIUM',
        type: 'DRIFT_UNAVAILABLE',
        message: `live-vs-backtest drift of ${state.tradingDate} could not be computed: ${artifact.error}`,
        runId: state.runId,
        tradingDate: state.tradingDate,
        at: now(),
      });
    } catch {
      // The drift is a report: an alert that cannot be sent must not fail the verification either.
    }
  }
  return summarizeDrift(artifact);
}

// ---------------------------------------------------------------------------------------------

function toBacktestOrder(o: Order): BacktestOrder {
  return {
    clientOrderId: o.clientOrderId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    qty: o.qty,
    limitPrice: o.limitPrice ?? null,
    stopLossPrice: o.stopLossPrice ?? null,
  };
}

async function sessionOf(deps: Deps, state: PipelineState): Promise<Session> {
  if (state.session.openUtc && state.session.closeUtc) return { date: state.tradingDate, openUtc: state.session.openUtc, closeUtc: state.session.closeUtc };
  const calendar = await loadCalendar(deps.calendar);
  if (!calendar.isSession(state.tradingDate)) throw new Error(`tradingDate ${state.tradingDate} is not a session of the calendar`);
  return calendar.session(state.tradingDate);
}

/** The validated bar of `symbol` on `date`, or why there is none (never a guess). */
async function sessionBar(deps: Deps, symbol: string, date: string): Promise<Bar | { unavailable: string }> {
  let rows;
  try {
    rows = await deps.marketData.loadDailyRows(symbol);
  } catch (error) {
    return { unavailable: `no ${date} bar for ${symbol}: market data could not be loaded (${describeError(error)})` };
  }
  const validated = validateBarRows(rows);
  const bar = barOn(validated, date);
  if (bar) return bar;
  const defect = validated.defects.find((d) => d.date === date);
  if (defect) return { unavailable: `no valid ${date} bar for ${symbol}: ${defect.rule} ${defect.message}` };
  const last = validated.bars.at(-1)?.date;
  return { unavailable: `no ${date} bar for ${symbol} in the market data (yet): its last bar is ${last ?? 'none'}` };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
