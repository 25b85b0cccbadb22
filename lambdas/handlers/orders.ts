/**
 * Step 5, orders: turns each allowed entry into an immutable Order (entry limit + stop-loss leg
 * in one OTO request, time_in_force gtc so the stop outlives the day), and places it with the
 * ledger-first protocol:
 *
 *   1. derive the client_order_id (strategy, session, symbol, side, purpose) — deterministic;
 *   2. conditional put of the intent in the ledger (`attribute_not_exists`) BEFORE any broker call;
 *   3. if the intent already existed, look the order up at the broker by client_order_id and adopt
 *      it — never submit twice;
 *   4. submit; a 422 `client_order_id must be unique` means it is already there: look up, adopt;
 *      401/403 (credentials refused, account blocked, or Alpaca's 403 for buying power) latch the
 *      trading state HALTED and raise a CRITICAL alert — nothing more is sent this run;
 *      any other 4xx is recorded as rejected with the broker's message (no retry);
 *      a timeout, transport error or 5xx is followed by a lookup by client_order_id, never a blind
 *      retry: found → adopted; confirmed absent → sent again with the same id (at most
 *      SUBMIT_ATTEMPTS in all, the gate and the time in force re-checked first); lookup failed →
 *      left pending_submit (HIGH alert) for the next run; 429 is backed off inside the broker
 *      adapter (token bucket + jittered retries);
 *   5. record the broker's order id, status and legs.
 *
 * The kill switch and the trading-state latch are read again right before each submission
 * (failing closed): flipping the switch after the risk check, or while this step runs, stops every
 * submission not yet sent. An intent whose time in force has ended is closed, never sent.
 *
 * Exits come first: when the risk check decided exits (a flatten: kill-switch action, MAX_DRAWDOWN,
 * end of day), shared/flatten.ts cancels open orders through cancel-and-verify and then closes the
 * positions with market orders. Exits are never gated (risk-reducing orders are always allowed);
 * entries are gated on the kill switch, the latch and today's day lock, read fresh per submission.
 *
 * Artifact in: DECISIONS. Artifact out: ORDERS.
 */
import { deriveClientOrderId } from '../core/client-order-id';
import { effectiveTradingState } from '../core/kill-switch';
import { intentRecord, type LedgerOrder } from '../core/ledger';
import { createOrder, toSubmitRequest, type Order } from '../core/order';
import { VersionConflictError } from '../adapters/dynamodb/order-ledger';
import { BrokerError, type BrokerOrder } from '../ports';
import { loadCalendar, type Deps } from '../wiring/deps';
import type { DecisionsArtifact } from './risk-check';
import type { RiskDecision } from '../core/risk/kernel';
import { readKillSwitch } from './shared/kill-switch';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { syncWithBroker } from './shared/order-sync';
import { flattenPositions, type FlattenReport } from './shared/flatten';
import { ARTIFACTS, PipelineStateSchema, type PipelineState } from './shared/pipeline-state';

/**
 * Submissions of one intent per execution: the first, plus resends after a failure whose lookup
 * by client_order_id confirmed the order is NOT at the broker.
 */
export const SUBMIT_ATTEMPTS = 3;

/** What happened to one intent in this execution. */
export type PlacementOutcome =
  | 'submitted' // this execution's request was accepted by the broker
  | 'already_placed' // the ledger already had it with a broker id: nothing sent
  | 'adopted' // the broker already had it (lookup or 422 duplicate): nothing new sent
  | 'rejected' // the broker refused it; recorded with the broker's message
  | 'unconfirmed' // transport failure and the lookup did not find it: left pending_submit, alerted
  | 'expired' // its time in force ended before it could be sent: closed in the ledger, not sent
  | 'blocked' // kill switch not ARMED (or a halt latched) at submission time
  | 'halted'; // the broker answered 401/403: trading state latched HALTED, CRITICAL alert

export interface Placement {
  clientOrderId: string;
  symbol: string;
  outcome: PlacementOutcome;
  detail?: string;
}

/** Artifact ORDERS. */
export interface OrdersArtifact {
  placements: Placement[];
  /** The cancels and closing orders of a flatten, when the risk check decided one. */
  flatten?: FlattenReport;
}

/**
 * The entry order an allowed entry decision becomes: a `gtc` OTO buy limit at the plan's limit with
 * its stop-loss leg, under the deterministic client_order_id. The one place entries are built, so the
 * drift's backtest orders (shared/drift.ts) are exactly the orders this step sends.
 * @param d an allowed entry decision with a plan (qty ≥ 1 shares, limit and stop in USD).
 * @throws the order constructor's Error naming the field and value (core/order.ts).
 */
export function entryOrderOf(
  d: Pick<RiskDecision, 'symbol' | 'plan'>,
  ctx: { strategyId: string; tradingDate: string; fractionalShares: boolean; expiresAt?: string },
): Order {
  return createOrder(
    {
      clientOrderId: deriveClientOrderId({ strategyId: ctx.strategyId, sessionDate: ctx.tradingDate, symbol: d.symbol, side: 'buy', purpose: 'entry' }),
      strategyId: ctx.strategyId,
      tradingDate: ctx.tradingDate,
      symbol: d.symbol,
      side: 'buy',
      type: 'limit',
      timeInForce: 'gtc',
      orderClass: 'oto',
      purpose: 'entry',
      qty: String(d.plan!.qty),
      limitPrice: d.plan!.limitPrice,
      stopLossPrice: d.plan!.stopLossPrice,
      ...(ctx.expiresAt ? { expiresAt: ctx.expiresAt } : {}),
    },
    { allowFractional: ctx.fractionalShares },
  );
}

/**
 * Places every allowed entry of the run with the ledger-first protocol.
 * @returns how many intents ended in each PlacementOutcome.
 * @throws Error on ledger or lookup failures (the state machine alerts and still runs cancel-verify).
 */
export async function ordersStep(state: PipelineState, deps: Deps): Promise<Record<PlacementOutcome, number>> {
  const endOfDay = state.action === 'end_of_day';
  const decided = await deps.artifacts.get<DecisionsArtifact>(state.runId, endOfDay ? ARTIFACTS.endOfDayDecisions : ARTIFACTS.decisions);
  const allowed = decided.decisions.filter((d) => d.allowed && d.kind !== 'exit' && d.plan && d.plan.qty >= 1);
  const counts: Record<PlacementOutcome, number> = { submitted: 0, already_placed: 0, adopted: 0, rejected: 0, unconfirmed: 0, expired: 0, blocked: 0, halted: 0 };
  const placements: Placement[] = [];

  // Exits first, ungated: cancel (and verify) open orders, then close the positions.
  const exits = decided.decisions.filter((d) => d.allowed && d.kind === 'exit');
  let flatten: FlattenReport | undefined;
  if (exits.length > 0 || decided.flatten) {
    flatten = await flattenPositions(deps, exits, state, { cancelAll: Boolean(decided.flatten) }, placeOrder);
    for (const p of flatten.exits) {
      counts[p.outcome] += 1;
      placements.push(p);
    }
    // A flatten is news; the strategy's routine exits (holding period) are not.
    await deps.alerts.publish({
      severity: decided.flatten ? 'HIGH' : 'INFO',
      type: decided.flatten ? 'FLATTENED' : 'STRATEGY_EXITS',
      message: `${decided.flatten ? 'flatten' : 'exits'} (${decided.flatten?.cause ?? 'exits decided by the risk check'}): ${flatten.cancels.length} open orders cancelled (${flatten.cancels.map((c) => `${c.symbol} ${c.outcome}`).join(', ') || 'none'}); closing orders: ${flatten.exits.map((p) => `${p.symbol} ${p.outcome}`).join(', ') || 'none'}`,
      runId: state.runId,
      tradingDate: state.tradingDate,
      at: deps.clock.now().toISOString(),
    });
  }

  const calendar = await loadCalendar(deps.calendar);
  const lastSession = calendar.sessionsBetween(state.tradingDate, calendar.last.date)[deps.config.entryTtlSessions - 1] ?? calendar.last;

  const orders: Order[] = allowed.map((d) =>
    entryOrderOf(d, {
      strategyId: deps.config.strategyId,
      tradingDate: state.tradingDate,
      fractionalShares: deps.config.fractionalShares,
      expiresAt: lastSession.closeUtc,
    }),
  );

  let blockedBecause: string | undefined;
  for (const order of orders) {
    // Read fresh before EACH submission (failing closed): a kill switch flipped, or a halt latched,
    // after the risk check or while this loop runs stops every submission not yet sent.
    const gate = await entryGate(deps, state.tradingDate);
    let placement: Placement;
    if (gate.state !== 'ACTIVE') {
      blockedBecause = gate.cause;
      placement = { clientOrderId: order.clientOrderId, symbol: order.symbol, outcome: 'blocked', detail: `${gate.cause} (checked at submission)` };
    } else {
      placement = await placeOrder(deps, order, state);
    }
    counts[placement.outcome] += 1;
    placements.push(placement);
  }
  if (blockedBecause) {
    await deps.alerts.publish({
      severity: 'MEDIUM',
      type: 'ENTRIES_BLOCKED',
      message: `${counts.blocked} allowed entries not submitted: trading stopped after the risk check (${blockedBecause})`,
      runId: state.runId,
      tradingDate: state.tradingDate,
      at: deps.clock.now().toISOString(),
    });
  }

  await deps.artifacts.put(state.runId, endOfDay ? ARTIFACTS.endOfDayOrders : ARTIFACTS.orders, { placements, ...(flatten ? { flatten } : {}) } satisfies OrdersArtifact, deps.clock.now());
  return counts;
}

/**
 * Whether a new entry may go out right now: the kill switch (read fresh, failing closed), the
 * latch and today's day lock (DAILY_LOSS_LIMIT, LOSS_STREAK, FLATTENED) must all allow it.
 */
async function entryGate(deps: Deps, tradingDate: string): Promise<{ state: string; cause: string }> {
  const gate = effectiveTradingState(await readKillSwitch(deps.killSwitch), await deps.tradingState.getLatch());
  if (gate.state !== 'ACTIVE') return gate;
  const lock = await deps.tradingState.getDayLock(tradingDate);
  return lock ? { state: 'HALTED', cause: `DAY_LOCKED: ${lock.cause}` } : gate;
}

/** The ledger-first placement protocol for one order (see module doc). */
export async function placeOrder(
  deps: Deps,
  order: Order,
  state: Pick<PipelineState, 'runId' | 'tradingDate'>,
  options: { reducing?: boolean } = {},
): Promise<Placement> {
  const now = () => deps.clock.now().toISOString();
  const ctx = () => ({ runId: state.runId, tradingDate: state.tradingDate, now: now() });
  const base = { clientOrderId: order.clientOrderId, symbol: order.symbol };

  const intent = intentRecord(order, state.runId, now());
  const put = await deps.ledger.putIntent(intent);
  let record: LedgerOrder = put.created ? intent : put.existing;

  if (!put.created) {
    if (record.status !== 'pending_submit') {
      // Known to the broker already (or refused by it): never send again.
      if (record.brokerOrderId) {
        const broker = await deps.broker.getOrderByClientOrderId(order.clientOrderId);
        if (broker) await syncWithBroker(deps, record, broker, ctx());
      }
      return { ...base, outcome: 'already_placed', detail: `ledger status ${record.status}` };
    }
    // An earlier execution wrote the intent but did not confirm a submission: ask the broker first.
    const existing = await deps.broker.getOrderByClientOrderId(order.clientOrderId);
    if (existing) {
      await syncWithBroker(deps, record, existing, ctx());
      return { ...base, outcome: 'adopted', detail: 'found at the broker by client_order_id' };
    }
  }

  // A stale intent (e.g. an execution redriven after the session) is closed, never sent.
  if (order.expiresAt && Date.parse(now()) >= Date.parse(order.expiresAt)) {
    await deps.ledger.update(record, { status: 'expired', statusReason: `time in force ended ${order.expiresAt} before submission`, updatedAt: now() });
    return { ...base, outcome: 'expired', detail: `time in force ended ${order.expiresAt}` };
  }

  let accepted: BrokerOrder | undefined;
  for (let attempt = 1; accepted === undefined; attempt++) {
    try {
      accepted = await deps.broker.submitOrder(toSubmitRequest(order));
      break;
    } catch (error) {
      if (error instanceof BrokerError && error.status === 422 && /client_order_id must be unique/i.test(error.message)) {
        const existing = await deps.broker.getOrderByClientOrderId(order.clientOrderId);
        if (!existing) throw new Error(`broker says ${order.clientOrderId} exists but cannot find it`);
        await syncWithBroker(deps, record, existing, ctx());
        return { ...base, outcome: 'adopted', detail: 'broker answered 422 client_order_id must be unique' };
      }
      if (error instanceof BrokerError && (error.status === 401 || error.status === 403)) {
        // The broker refuses this account's orders: stop everything until a person looks.
        await deps.ledger.update(record, { status: 'rejected', statusReason: `${error.status} ${error.message}`, updatedAt: now() });
        const cause = `BROKER_AUTH_REFUSED: ${error.status} ${error.message} on ${order.clientOrderId}`;
        await deps.tradingState.setLatch({ state: 'HALTED', cause, since: now() });
        await deps.alerts.publish({
          severity: 'CRITICAL',
          type: 'BROKER_AUTH_REFUSED',
          message: `${cause}. Trading state set to HALTED: check the API keys and the account at the broker, then re-arm the kill switch.`,
          runId: state.runId,
          tradingDate: state.tradingDate,
          at: now(),
        });
        return { ...base, outcome: 'halted', detail: `${error.status} ${error.message}` };
      }
      if (isDefinitiveRefusal(error)) {
        await deps.ledger.update(record, { status: 'rejected', statusReason: `${error.status} ${error.message}`, updatedAt: now() });
        await deps.alerts.publish({
          severity: 'MEDIUM',
          type: 'ORDER_REJECTED',
          message: `${order.clientOrderId} (${order.symbol} ${order.side} ${order.qty} @ ${order.limitPrice ?? 'market'}) rejected by the broker: ${error.status} ${error.message}`,
          runId: state.runId,
          tradingDate: state.tradingDate,
          at: now(),
        });
        return { ...base, outcome: 'rejected', detail: `${error.status} ${error.message}` };
      }
      // Timeout, transport failure, 5xx, 408 or 429: the order may or may not exist. Look it up
      // BEFORE anything else; never resend blindly.
      let existing: BrokerOrder | undefined;
      let lookupFailed: string | undefined;
      try {
        existing = await deps.broker.getOrderByClientOrderId(order.clientOrderId);
      } catch (lookupError) {
        lookupFailed = (lookupError as Error).message;
      }
      if (existing) {
        await syncWithBroker(deps, record, existing, ctx());
        return { ...base, outcome: 'adopted', detail: `found after ${(error as Error).message}` };
      }
      if (lookupFailed !== undefined || attempt >= SUBMIT_ATTEMPTS) {
        const why = lookupFailed !== undefined ? `the lookup failed too (${lookupFailed})` : `the order is not visible at the broker after ${attempt} attempts`;
        await deps.alerts.publish({
          severity: 'HIGH',
          type: 'ORDER_UNCONFIRMED',
          message: `${order.clientOrderId}: submission failed (${(error as Error).message}) and ${why}; left pending_submit for the next run to resolve`,
          runId: state.runId,
          tradingDate: state.tradingDate,
          at: now(),
        });
        return { ...base, outcome: 'unconfirmed', detail: (error as Error).message };
      }
      // Confirmed absent: sending again with the same client_order_id is safe (should the first
      // request still land, the broker answers 422 and the order is adopted). Re-check the gate and
      // the time in force first: both may have changed while this order was being retried.
      // Exits (options.reducing) are never gated: a halt must not keep a position open.
      const gate = options.reducing ? { state: 'ACTIVE', cause: '' } : await entryGate(deps, state.tradingDate);
      if (gate.state !== 'ACTIVE') return { ...base, outcome: 'blocked', detail: `${gate.cause} (checked before a resend)` };
      if (order.expiresAt && Date.parse(now()) >= Date.parse(order.expiresAt)) {
        await deps.ledger.update(record, { status: 'expired', statusReason: `time in force ended ${order.expiresAt} before a resend`, updatedAt: now() });
        return { ...base, outcome: 'expired', detail: `time in force ended ${order.expiresAt}` };
      }
    }
  }

  // Accepted. Only the submission is inside the try above: a ledger error from here on is not a
  // failed submission. A version conflict means another execution adopted the order meanwhile.
  for (let attempt = 1; ; attempt++) {
    try {
      record = await deps.ledger.update(record, { submittedByRunId: state.runId, updatedAt: now() });
      break;
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= 5) throw error;
      const fresh = await deps.ledger.get(order.clientOrderId);
      if (!fresh) throw error;
      record = fresh;
    }
  }
  await syncWithBroker(deps, record, accepted!, ctx());
  return { ...base, outcome: 'submitted' };
}

/**
 * True for a broker answer that says the order was NOT created and never will be (a 4xx refusal
 * such as 403 buying power or 422 invalid). 5xx, 408 (timeout) and 429 (rate limit) say nothing
 * about whether the order exists, so they go through the lookup path like a transport error.
 */
function isDefinitiveRefusal(error: unknown): error is BrokerError {
  return error instanceof BrokerError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps) => makeStepHandler('orders', PipelineStateSchema, ordersStep, getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());
