/**
 * Test doubles for handler tests:
 *
 * - `FakeBroker`: a scriptable, in-memory BrokerPort. It records every call, enforces Alpaca's
 *   client_order_id uniqueness (422 `client_order_id must be unique`), nests OTO legs like Alpaca,
 *   and lets a test inject failures: a refusal (422/403/5xx), a transport error before or after the
 *   broker accepted the order, a fill that races a cancel, a cancel left pending, an order that goes
 *   missing, a late fill after a confirmed cancel.
 * - `MemoryAlerts`, `FakeKillSwitch`, `MutableClock`, `StaticCalendar`: the other ports.
 * - `startHandlerHarness`: a `Deps` built from the real DynamoDB adapters on a fresh dynalite plus
 *   the fakes above, for running pipeline steps end to end without AWS.
 *
 * Not the paper broker: nothing here simulates a market. Fills happen only when a test says so.
 */
import { parseStrategyConfig, type StrategyConfig } from '../../lambdas/core/config';
import type { Session } from '../../lambdas/core/calendar';
import { dec } from '../../lambdas/core/money';
import { isOpenStatus, type AlpacaOrderStatus } from '../../lambdas/core/order-status';
import type { RiskDecision } from '../../lambdas/core/risk/kernel';
import type { DecisionsArtifact } from '../../lambdas/handlers/risk-check';
import { DynamoOrderLedger } from '../../lambdas/adapters/dynamodb/order-ledger';
import { DynamoRiskAudit } from '../../lambdas/adapters/dynamodb/risk-audit';
import { DynamoRunArtifacts } from '../../lambdas/adapters/dynamodb/run-artifacts';
import { DynamoTradingStateStore } from '../../lambdas/adapters/dynamodb/trading-state';
import {
  BrokerError,
  type Alert,
  type AlertPort,
  type BrokerAccount,
  type BrokerExecution,
  type BrokerOrder,
  type BrokerPort,
  type BrokerPosition,
  type CalendarPort,
  type Clock,
  type KillSwitchPort,
  type RawParameter,
  type SubmitOrderRequest,
} from '../../lambdas/ports';
import type { Deps } from '../../lambdas/wiring/deps';
import { startTestDynamo, type TestDynamo } from './dynamo';

// ---------------------------------------------------------------------------------------------
// Errors a broker (or the network in front of it) produces
// ---------------------------------------------------------------------------------------------

/** Alpaca's answer to a second order with the same client_order_id. */
export const duplicateClientOrderId = () => new BrokerError(422, 'client_order_id must be unique', 40010001);
/** Alpaca's answer when buying power is short. */
export const insufficientBuyingPower = () => new BrokerError(403, 'insufficient buying power', 40310000);
/** Alpaca's answer to cancelling an order that already filled. */
export const notCancelable = () => new BrokerError(422, 'order is not cancelable', 42210000);
/** A transport failure (socket reset, timeout): the request may or may not have reached the broker. */
export const networkError = (message = 'fetch failed: ECONNRESET') => Object.assign(new Error(message), { name: 'TypeError' });

// ---------------------------------------------------------------------------------------------
// FakeBroker
// ---------------------------------------------------------------------------------------------

export type BrokerMethod = keyof BrokerPort;

export interface BrokerCall {
  method: BrokerMethod;
  args: unknown[];
}

/** What a scripted submission does. */
export type SubmitScript =
  /** Refuse without creating anything (e.g. 403, 422, 500 that did not create the order). */
  | { kind: 'refuse'; error: Error }
  /** The broker creates the order, then the response is lost (client sees `error`). */
  | { kind: 'accept-then-fail'; error: Error }
  /** Runs `hook` first (e.g. to inspect the ledger at the moment of the call), then proceeds normally. */
  | { kind: 'inspect'; hook: (request: SubmitOrderRequest) => Promise<void> | void };

/** What a scripted cancel does to one order. */
export type CancelScript =
  /** The order fills (fully unless `qty`) just before the cancel reaches it; the cancel then gets 422 not cancelable. */
  | { kind: 'fill-then-422'; price: string; qty?: string }
  /** The cancel request is accepted, but a fill lands first: the read-back shows filled. */
  | { kind: 'accepted-but-filled'; price: string; qty?: string }
  /** The cancel is accepted and stays pending (pending_cancel) until `completeCancel`. */
  | { kind: 'pending' }
  /** The cancel request itself fails with `error`, changing nothing. */
  | { kind: 'error'; error: Error };

interface StoredOrder {
  order: BrokerOrder; // legs: [] here; nested on output
  parentId: string | null;
  legIds: string[];
}

let brokerInstances = 0;

export class FakeBroker implements BrokerPort {
  /** Every call, in order, with its arguments (deep-copied). */
  readonly calls: BrokerCall[] = [];
  private readonly orders = new Map<string, StoredOrder>(); // by broker id, insertion order = submission order
  private readonly positions = new Map<string, { qty: number; cost: number }>();
  private positionOverrides = new Map<string, string | null>();
  private readonly submitScripts: SubmitScript[] = [];
  private readonly cancelScripts = new Map<string, CancelScript>();
  private readonly failures = new Map<BrokerMethod, Error[]>();
  private readonly hidden = new Set<string>();
  /** Every execution, oldest first (what listExecutions reports). */
  readonly executions: BrokerExecution[] = [];
  private seq = 0;
  private readonly prefix: string;

  constructor(
    private readonly clock: Clock,
    public account: BrokerAccount = { cash: '100000', equity: '100000', buyingPower: '100000', tradingBlocked: false },
  ) {
    this.prefix = `b${++brokerInstances}`;
  }

  // ----- scripting -------------------------------------------------------------------------

  /** Queues what the next submission does (FIFO; unscripted submissions behave normally). */
  scriptSubmit(script: SubmitScript): this {
    this.submitScripts.push(script);
    return this;
  }

  /** Scripts the next cancel of the order with this client_order_id. */
  scriptCancel(clientOrderId: string, script: CancelScript): this {
    this.cancelScripts.set(clientOrderId, script);
    return this;
  }

  /** The next call of `method` throws `error` before doing anything. */
  failNext(method: BrokerMethod, error: Error): this {
    const queue = this.failures.get(method) ?? [];
    queue.push(error);
    this.failures.set(method, queue);
    return this;
  }

  /** The broker no longer knows this order: lookups answer 404 / undefined. */
  hide(clientOrderId: string): this {
    this.hidden.add(clientOrderId);
    return this;
  }

  /** Forces the broker's reported position for a symbol (null removes the override, '0' hides it). */
  overridePosition(symbol: string, qty: string | null): this {
    if (qty === null) this.positionOverrides.delete(symbol);
    else this.positionOverrides.set(symbol, qty);
    return this;
  }

  /** Calls of one method, in order. */
  callsTo(method: BrokerMethod): BrokerCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Submissions that reached this broker (whatever the outcome). */
  get submitted(): SubmitOrderRequest[] {
    return this.callsTo('submitOrder').map((c) => c.args[0] as SubmitOrderRequest);
  }

  /** Every order, parents and legs, as stored (no nesting), in submission order. */
  allOrders(): BrokerOrder[] {
    return [...this.orders.values()].map((s) => this.view(s, false));
  }

  /** The stored order with this client_order_id (ignores `hide`). */
  peek(clientOrderId: string): BrokerOrder | undefined {
    const stored = this.findByClientId(clientOrderId);
    return stored ? this.view(stored, true) : undefined;
  }

  /**
   * Creates an order as if an earlier execution had submitted it, without recording a call
   * (the "broker already has it" precondition).
   */
  seed(request: SubmitOrderRequest): BrokerOrder {
    return this.view(this.create(request), true);
  }

  /**
   * Fills `qty` more shares (default: the rest) of an order at `price`. A parent that fills
   * releases its held legs (they start working); positions move with every fill.
   */
  fill(clientOrderId: string, price: string, qty?: string): BrokerOrder {
    const stored = this.mustFind(clientOrderId);
    this.applyFill(stored, price, qty);
    return this.view(stored, true);
  }

  /**
   * A fill the broker reports AFTER it had reported the order canceled or expired (a late fill,
   * the BUG-100 family): the order becomes filled, the position moves, legs are left as they are.
   */
  lateFill(clientOrderId: string, price: string, qty?: string): BrokerOrder {
    const stored = this.mustFind(clientOrderId);
    this.applyFill(stored, price, qty, true);
    return this.view(stored, true);
  }

  /** Finishes a pending cancel: the order becomes canceled (held legs with it). */
  completeCancel(clientOrderId: string): void {
    const stored = this.mustFind(clientOrderId);
    this.markCanceled(stored);
  }

  /** Reports an execution again (a replayed fill event): same id, same fields. */
  replayExecution(index = -1): void {
    const e = this.executions.at(index);
    if (!e) throw new Error('FakeBroker: no execution to replay');
    this.executions.push({ ...e });
  }

  /** Sets an order's status directly (e.g. a broker-side correction). */
  setStatus(clientOrderId: string, status: AlpacaOrderStatus): void {
    const stored = this.mustFind(clientOrderId);
    stored.order.status = status;
  }

  // ----- BrokerPort ------------------------------------------------------------------------

  async getAccount(): Promise<BrokerAccount> {
    this.record('getAccount', []);
    return { ...this.account };
  }

  async listPositions(): Promise<BrokerPosition[]> {
    this.record('listPositions', []);
    const out: BrokerPosition[] = [];
    const symbols = new Set([...this.positions.keys(), ...this.positionOverrides.keys()]);
    for (const symbol of [...symbols].sort()) {
      const real = this.positions.get(symbol);
      const override = this.positionOverrides.get(symbol);
      const qty = override !== undefined ? Number(override) : (real?.qty ?? 0);
      if (qty === 0) continue;
      const avg = real && real.qty !== 0 ? real.cost / real.qty : 100;
      out.push({
        symbol,
        qty: String(qty),
        avgEntryPrice: avg.toFixed(2),
        currentPrice: avg.toFixed(2),
        marketValue: (avg * qty).toFixed(2),
      });
    }
    return out;
  }

  async listOrders(filter: { status: 'open' | 'closed' | 'all' }): Promise<BrokerOrder[]> {
    this.record('listOrders', [filter]);
    const matches = (s: StoredOrder) => !this.hidden.has(s.order.clientOrderId) && (filter.status === 'all' || (filter.status === 'open') === isOpenStatus(s.order.status));
    const all = [...this.orders.values()];
    return all
      .filter(matches)
      .filter((s) => s.parentId === null || !matches(this.orders.get(s.parentId)!))
      .reverse()
      .map((s) => this.view(s, true, matches));
  }

  async getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | undefined> {
    this.record('getOrderByClientOrderId', [clientOrderId]);
    const stored = this.findByClientId(clientOrderId);
    if (!stored || this.hidden.has(clientOrderId)) return undefined;
    return this.view(stored, true);
  }

  async getOrder(brokerOrderId: string): Promise<BrokerOrder> {
    this.record('getOrder', [brokerOrderId]);
    const stored = this.orders.get(brokerOrderId);
    if (!stored || this.hidden.has(stored.order.clientOrderId)) throw new BrokerError(404, 'order not found');
    return this.view(stored, true);
  }

  async submitOrder(request: SubmitOrderRequest): Promise<BrokerOrder> {
    this.record('submitOrder', [request]);
    const script = this.submitScripts.shift();
    if (script?.kind === 'refuse') throw script.error;
    if (script?.kind === 'inspect') await script.hook(structuredClone(request));
    if (this.findByClientId(request.clientOrderId)) throw duplicateClientOrderId();
    const stored = this.create(request);
    if (script?.kind === 'accept-then-fail') throw script.error;
    return this.view(stored, true);
  }

  async cancelOrder(brokerOrderId: string): Promise<void> {
    this.record('cancelOrder', [brokerOrderId]);
    const stored = this.orders.get(brokerOrderId);
    if (!stored || this.hidden.has(stored.order.clientOrderId)) throw new BrokerError(404, 'order not found');
    const script = this.cancelScripts.get(stored.order.clientOrderId);
    this.cancelScripts.delete(stored.order.clientOrderId);
    switch (script?.kind) {
      case 'error':
        throw script.error;
      case 'fill-then-422':
        this.applyFill(stored, script.price, script.qty);
        if (!isOpenStatus(stored.order.status)) throw notCancelable();
        this.markCanceled(stored);
        return;
      case 'accepted-but-filled':
        this.applyFill(stored, script.price, script.qty);
        if (isOpenStatus(stored.order.status)) this.markCanceled(stored);
        return;
      case 'pending':
        if (!isOpenStatus(stored.order.status)) throw notCancelable();
        stored.order.status = 'pending_cancel';
        return;
      default:
        if (!isOpenStatus(stored.order.status)) throw notCancelable();
        this.markCanceled(stored);
    }
  }

  async listExecutions(filter: { after?: string }): Promise<BrokerExecution[]> {
    this.record('listExecutions', [filter]);
    const after = filter.after === undefined ? -Infinity : Date.parse(filter.after);
    return this.executions.filter((e) => Date.parse(e.transactionTime) >= after).map((e) => ({ ...e }));
  }

  // ----- internals -------------------------------------------------------------------------

  private record(method: BrokerMethod, args: unknown[]): void {
    this.calls.push({ method, args: structuredClone(args) });
    const queue = this.failures.get(method);
    const error = queue?.shift();
    if (error) throw error;
  }

  private nextId(): string {
    this.seq += 1;
    return `${this.prefix}-ord-${String(this.seq).padStart(4, '0')}`;
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  private create(request: SubmitOrderRequest): StoredOrder {
    const id = this.nextId();
    const base = {
      timeInForce: request.timeInForce,
      filledQty: '0',
      filledAvgPrice: null,
      submittedAt: this.now(),
      filledAt: null,
      canceledAt: null,
      expiredAt: null,
      legs: [],
    };
    const parent: StoredOrder = {
      order: {
        ...base,
        id,
        clientOrderId: request.clientOrderId,
        symbol: request.symbol,
        side: request.side,
        type: request.type,
        orderClass: request.orderClass,
        qty: request.qty,
        limitPrice: request.limitPrice ?? null,
        stopPrice: request.stopPrice ?? null,
        status: 'new',
      },
      parentId: null,
      legIds: [],
    };
    this.orders.set(id, parent);
    // Alpaca makes up leg ids (UUIDs); they never collide with derived ids. Legs are held until the
    // entry fills (the bracket's take-profit too).
    const addLeg = (type: 'stop' | 'limit', price: string): void => {
      const legId = this.nextId();
      this.orders.set(legId, {
        order: {
          ...base,
          id: legId,
          clientOrderId: `${legId}-leg`,
          symbol: request.symbol,
          side: request.side === 'buy' ? 'sell' : 'buy',
          type,
          orderClass: request.orderClass,
          qty: request.qty,
          limitPrice: type === 'limit' ? price : null,
          stopPrice: type === 'stop' ? price : null,
          status: 'held',
        },
        parentId: id,
        legIds: [],
      });
      parent.legIds.push(legId);
    };
    if (request.stopLoss) addLeg('stop', request.stopLoss.stopPrice);
    if (request.takeProfit) addLeg('limit', request.takeProfit.limitPrice);
    return parent;
  }

  private applyFill(stored: StoredOrder, price: string, qty?: string, late = false): void {
    const o = stored.order;
    if (!late && !isOpenStatus(o.status)) throw new Error(`FakeBroker: ${o.clientOrderId} is ${o.status}; cannot fill`);
    const before = Number(o.filledQty);
    const total = Number(o.qty);
    const add = qty === undefined ? total - before : Number(qty);
    if (add <= 0 || before + add > total) throw new Error(`FakeBroker: bad fill qty ${add} for ${o.clientOrderId}`);
    const prevAvg = o.filledAvgPrice ? Number(o.filledAvgPrice) : 0;
    const after = before + add;
    o.filledQty = String(after);
    o.filledAvgPrice = ((before * prevAvg + add * Number(price)) / after).toFixed(4).replace(/\.?0+$/, '');
    o.filledAt = this.now();
    o.status = after === total ? 'filled' : 'partially_filled';
    this.executions.push({
      id: `${this.prefix}-exe-${String(this.executions.length + 1).padStart(4, '0')}`,
      orderId: o.id,
      symbol: o.symbol,
      side: o.side,
      qty: String(add),
      price,
      cumQty: String(after),
      transactionTime: o.filledAt,
    });
    const pos = this.positions.get(o.symbol) ?? { qty: 0, cost: 0 };
    const signed = o.side === 'buy' ? add : -add;
    pos.cost += o.side === 'buy' ? add * Number(price) : pos.qty !== 0 ? (pos.cost / pos.qty) * signed : 0;
    pos.qty += signed;
    if (pos.qty === 0) this.positions.delete(o.symbol);
    else this.positions.set(o.symbol, pos);
    // Alpaca: the held legs of an OTO start working once the parent fills.
    for (const legId of stored.legIds) {
      const leg = this.orders.get(legId)!;
      if (leg.order.status === 'held') leg.order.status = 'new';
    }
  }

  private markCanceled(stored: StoredOrder): void {
    stored.order.status = 'canceled';
    stored.order.canceledAt = this.now();
    for (const legId of stored.legIds) {
      const leg = this.orders.get(legId)!;
      if (leg.order.status === 'held') {
        leg.order.status = 'canceled';
        leg.order.canceledAt = this.now();
      }
    }
  }

  private findByClientId(clientOrderId: string): StoredOrder | undefined {
    for (const s of this.orders.values()) if (s.order.clientOrderId === clientOrderId) return s;
    return undefined;
  }

  private mustFind(clientOrderId: string): StoredOrder {
    const s = this.findByClientId(clientOrderId);
    if (!s) throw new Error(`FakeBroker: no order ${clientOrderId}`);
    return s;
  }

  private view(stored: StoredOrder, nest: boolean, include: (s: StoredOrder) => boolean = () => true): BrokerOrder {
    const legs = nest ? stored.legIds.map((id) => this.orders.get(id)!).filter(include).map((s) => this.view(s, true)) : [];
    return structuredClone({ ...stored.order, legs });
  }
}

// ---------------------------------------------------------------------------------------------
// Other ports
// ---------------------------------------------------------------------------------------------

/** Collects alerts in memory. */
export class MemoryAlerts implements AlertPort {
  readonly published: Alert[] = [];
  async publish(alert: Alert): Promise<void> {
    this.published.push(structuredClone(alert));
  }
  ofType(type: string): Alert[] {
    return this.published.filter((a) => a.type === type);
  }
}

/** A kill-switch parameter in memory; `failWith` makes every read throw (an unreadable store). */
export class FakeKillSwitch implements KillSwitchPort {
  reads = 0;
  failWith: Error | undefined;
  constructor(
    public value = 'ARMED',
    public lastModified: string | undefined = undefined,
  ) {}
  async read(): Promise<RawParameter> {
    this.reads += 1;
    if (this.failWith) throw this.failWith;
    return { value: this.value, ...(this.lastModified ? { lastModified: this.lastModified } : {}) };
  }
  async write(value: string): Promise<void> {
    this.value = value;
  }
}

/** A clock tests move by hand. */
export class MutableClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  set(iso: string): void {
    this.current = new Date(iso);
  }
}

/** A fixed list of sessions. */
export class StaticCalendar implements CalendarPort {
  constructor(private readonly sessions: Session[]) {}
  async loadSessions(): Promise<Session[]> {
    return this.sessions.map((s) => ({ ...s }));
  }
}

/** NYSE sessions of the week of 2018-02-05 (EST: 09:30–16:00 New York = 14:30–21:00 UTC). */
export const WINTER_WEEK: Session[] = ['2018-02-05', '2018-02-06', '2018-02-07', '2018-02-08', '2018-02-09', '2018-02-12'].map((date) => ({
  date,
  openUtc: `${date}T14:30:00.000Z`,
  closeUtc: `${date}T21:00:00.000Z`,
}));

// ---------------------------------------------------------------------------------------------
// Deps for handler tests
// ---------------------------------------------------------------------------------------------


export interface HandlerHarness {
  deps: Deps;
  broker: FakeBroker;
  alerts: MemoryAlerts;
  killSwitch: FakeKillSwitch;
  clock: MutableClock;
  ledger: DynamoOrderLedger;
  tradingState: DynamoTradingStateStore;
  artifacts: DynamoRunArtifacts;
  config: StrategyConfig;
  dynamo: TestDynamo;
  stop(): Promise<void>;
}

const unused = (what: string) =>
  new Proxy({}, {
    get(_t, prop) {
      if (prop === 'then') return undefined;
      throw new Error(`${what}.${String(prop)} is not used by this step`);
    },
  });

/**
 * Deps from the real DynamoDB adapters on a fresh dynalite, the fake broker, in-memory alerts,
 * a fake kill switch (ARMED) and a hand-moved clock. Market data and secrets throw if touched.
 */
export async function startHandlerHarness(options: { now: string; config?: unknown; sessions?: Session[] }): Promise<HandlerHarness> {
  const dynamo = await startTestDynamo();
  const config = parseStrategyConfig(options.config ?? {});
  const clock = new MutableClock(new Date(options.now));
  const broker = new FakeBroker(clock);
  const alerts = new MemoryAlerts();
  const killSwitch = new FakeKillSwitch('ARMED');
  const ledger = new DynamoOrderLedger(dynamo.db, dynamo.tables.orderLedger, config.strategyId);
  const tradingState = new DynamoTradingStateStore(dynamo.db, dynamo.tables.tradingState, config.strategyId);
  const artifacts = new DynamoRunArtifacts(dynamo.db, dynamo.tables.runArtifacts);
  const deps: Deps = {
    config,
    clock,
    model: unused('model') as Deps['model'],
    marketData: unused('marketData') as Deps['marketData'],
    calendar: new StaticCalendar(options.sessions ?? WINTER_WEEK),
    broker,
    killSwitch,
    alerts,
    secrets: unused('secrets') as Deps['secrets'],
    ledger,
    tradingState,
    artifacts,
    riskAudit: new DynamoRiskAudit(dynamo.db, dynamo.tables.riskAudit, config.strategyId),
    sleep: async () => undefined, // cancel-and-verify polls without waiting in tests
  };
  return { deps, broker, alerts, killSwitch, clock, ledger, tradingState, artifacts, config, dynamo, stop: () => dynamo.stop() };
}

// ---------------------------------------------------------------------------------------------
// DECISIONS artifacts (what risk-check hands to the orders step)
// ---------------------------------------------------------------------------------------------

/** An entry the risk check sized: whole shares, prices as decimal strings on tick. */
export interface PlannedEntry {
  symbol: string;
  qty: number;
  limitPrice: string;
  stopLossPrice: string;
}

/** A risk decision for `e` (allowed unless said otherwise), with a consistent plan. */
export function entryDecision(e: PlannedEntry, allowed = true): RiskDecision {
  const riskPerShare = dec(e.limitPrice).minus(dec(e.stopLossPrice));
  return {
    symbol: e.symbol,
    kind: 'entry',
    side: 'buy',
    action: 'buy_to_open',
    allowed,
    qty: allowed ? String(e.qty) : null,
    rule: allowed ? 'OK' : 'MAX_OPEN_POSITIONS',
    reason: allowed ? `OK: buy ${e.qty} ${e.symbol} limit ${e.limitPrice} stop ${e.stopLossPrice}` : 'MAX_OPEN_POSITIONS: 10 held or pending >= limit 10',
    rank: 1,
    score: 0.5,
    plan: {
      limitPrice: e.limitPrice,
      stopLossPrice: e.stopLossPrice,
      qty: e.qty,
      qtyByRisk: e.qty,
      qtyByPositionLimit: e.qty,
      qtyByCash: e.qty,
      qtyByCap: {},
      bindingLimit: 'RISK_PER_TRADE',
      sizeMultiplier: 1,
      riskBudget: '500',
      riskPerShare: riskPerShare.toString(),
      riskAmount: riskPerShare.times(e.qty).toString(),
      notional: dec(e.limitPrice).times(e.qty).toString(),
      maxPositionValue: '10000',
      cashAvailable: '97000',
    },
  };
}

/** A DECISIONS artifact as risk-check writes it (kill switch ARMED, trading ACTIVE). */
export function decisionsArtifact(decisions: RiskDecision[], asOf: string): DecisionsArtifact {
  return {
    killSwitch: { state: 'ARMED', failedClosed: false, reason: 'kill switch is ARMED' },
    tradingState: { state: 'ACTIVE', cause: 'KILL_SWITCH: kill switch is ARMED' },
    snapshot: { asOf, cash: '100000', equity: '100000', positions: [], openOrders: [] },
    snapshotFrozenNow: true,
    decisions,
  };
}
