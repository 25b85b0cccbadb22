/**
 * A BrokerPort decorator that injects the failures a real broker API produces, driven by a seeded
 * PRNG (pure-rand xoroshiro128plus): the same seed and the same sequence of calls (against an inner
 * broker that answers the same way) inject exactly the same faults, so a failing run can be replayed.
 *
 * Faults, and the real-world failure each one models:
 *
 * - `latency` — a slow API or network: the call is delayed a few ms (through the injectable
 *   `sleep`), then proceeds.
 * - `rate_limited` — Alpaca's rate limit (HTTP 429): a burst refuses this call and the next K − 1
 *   calls (K from the PRNG) with `BrokerError(429, 'too many requests')`; they never reach the
 *   inner broker.
 * - `server_error` — a 500/502/503 from the API or its load balancer. Usually before the request
 *   reaches the inner broker (nothing happened); for `submitOrder` sometimes after the inner broker
 *   created the order (a gateway error on the way back). The client cannot tell which.
 * - `timeout_after_accept` — `submitOrder` reaches the inner broker, which creates the order, but
 *   the client times out: `BrokerTransportError('timeout')`.
 * - `dropped_response` — any call is served by the inner broker (a submit or cancel takes effect)
 *   but the connection drops before the response arrives: `BrokerTransportError('network')`.
 * - `replayed_fill` — at-least-once delivery of fill events: `listExecutions` also returns 1..3
 *   recently delivered executions again, with their original ids and fields (possibly from before
 *   `after`, as a replayed event keeps its original time), keeping the list oldest first.
 * - `fill_during_cancel` — a cancel racing a fill: on `cancelOrder` of an open, unfilled limit
 *   order, the order fills at its limit price (a real fill, through the inner broker's
 *   `fillOpenOrderAtLimit` hook) before the cancel reaches it, and the cancel then gets the inner
 *   broker's own 422 `order is not cancelable`. Never injected when the inner broker lacks the hook.
 * - `held_leg` — Alpaca reports bracket/OTO stop legs as `held` while they work: a working
 *   (`new`/`accepted`) stop leg of a filled parent is reported `held`. The system must still treat
 *   it as a live stop.
 * - `phantom_cancel` — a cancel that raced a fill: a filled order is reported `canceled` (with
 *   `canceledAt`) while keeping its `filledQty` and `filledAvgPrice`. The system must trust the fills.
 *
 * `held_leg` and `phantom_cancel` pick orders by a hash of the seed and the order id, not by the
 * call stream, so they are consistent across reads: an order reported canceled is reported canceled
 * on every later read (it is filled, hence terminal, so it can never fill more), and a picked leg is
 * reported `held` on every read while it works. Partially filled orders are never phantom-canceled:
 * they may still fill, and a canceled order that keeps filling is not something Alpaca does.
 *
 * Faults never touch the inner broker's state except through real operations (the submit or cancel
 * that did reach it, and the `fill_during_cancel` fill at the limit). Responses are copies; nothing
 * the inner broker returned is mutated, and no fault reports less than the broker knows (filled
 * quantities never decrease, no execution is dropped from a delivered list).
 *
 * Determinism: every call consumes the same fixed number of PRNG draws whatever happens to it, so
 * the faults of call n depend only on the seed, n and (for the state-dependent kinds) what the
 * inner broker answered.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import {
  BrokerError,
  BrokerTransportError,
  type BrokerAccount,
  type BrokerExecution,
  type BrokerOrder,
  type BrokerPort,
  type BrokerPosition,
  type SubmitOrderRequest,
} from '../../../ports';
import { FAULT_RATES, isFaultProfile, type FaultKind, type FaultProfile, type FaultRates } from './profiles';

/** A BrokerPort method name. */
export type BrokerMethod = keyof BrokerPort;

/** One injected fault, as handed to `onFault` and kept in `faults`. */
export interface FaultRecord {
  /** 1-based number of the broker call (on this decorator) the fault happened in. */
  call: number;
  kind: FaultKind;
  method: BrokerMethod;
  /** Human-readable specifics (order ids, status code, delay, burst position, replayed ids). */
  detail: string;
}

/**
 * What a broker offers for `fill_during_cancel`: fill an open, still unfilled limit order now, at its
 * limit price (the PaperBroker has it). Returns undefined, changing nothing, when it cannot.
 */
export interface LimitFillHook {
  fillOpenOrderAtLimit(brokerOrderId: string): Promise<BrokerOrder | undefined>;
}

/** True when `broker` offers the `fillOpenOrderAtLimit` hook (so `fill_during_cancel` can be injected). */
export function hasLimitFillHook(broker: BrokerPort): broker is BrokerPort & LimitFillHook {
  return typeof (broker as Partial<LimitFillHook>).fillOpenOrderAtLimit === 'function';
}

/** Options of `createFaultInjectingBroker`. */
export interface FaultInjectionOptions {
  /** How often faults happen (see the table in profiles.ts). */
  profile: FaultProfile;
  /** PRNG seed, a safe integer. Same seed + same calls ⇒ same faults. */
  seed: number;
  /** Performs a `latency` delay (default: a real setTimeout). Tests pass an instant one. */
  sleep?: (ms: number) => Promise<void>;
  /** Called synchronously with every injected fault (e.g. to log it); should not throw. */
  onFault?: (fault: FaultRecord) => void;
  /** Overrides of the profile's rates (tests force one kind with a rate of 1). */
  rates?: Partial<FaultRates>;
}

/** How many recently delivered executions a replay picks from. */
const REPLAY_POOL = 20;
/** At most this many executions are replayed at once. */
const REPLAY_MAX = 3;
const SERVER_ERRORS: ReadonlyArray<readonly [number, string]> = [
  [500, 'internal server error'],
  [502, 'bad gateway'],
  [503, 'service unavailable'],
];

/** The uniform draws one call consumes, always all of them (see the module doc on determinism). */
interface Draws {
  latency: number;
  latencyMs: number;
  rateLimit: number;
  burst: number;
  serverBefore: number;
  serverStatus: number;
  after: number;
  special: number;
  /** Seed of a sub-generator for choices of variable size (which executions to replay). */
  sub: number;
}

interface CallContext {
  call: number;
  method: BrokerMethod;
  draws: Draws;
}

/**
 * The fault-injecting decorator. Build it with `createFaultInjectingBroker`.
 */
export class FaultInjectingBroker implements BrokerPort {
  /** Every fault injected so far, oldest first. */
  readonly faults: FaultRecord[] = [];
  /** The effective rates (profile plus overrides). */
  readonly rates: Readonly<FaultRates>;
  private readonly rng: RandomGenerator;
  private readonly seedKey: number;
  private readonly hook: LimitFillHook | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly onFault: ((fault: FaultRecord) => void) | undefined;
  private calls = 0;
  /** Calls still to refuse in the current 429 burst, and the burst's length. */
  private burstLeft = 0;
  private burstLength = 0;
  /** Recently delivered executions (the replay pool), oldest first, unique ids. */
  private readonly delivered: BrokerExecution[] = [];
  /** Orders already reported canceled by `phantom_cancel` (sticky, whatever the hash says later). */
  private readonly phantomCanceled = new Set<string>();

  /**
   * @throws Error for an unknown profile, a seed that is not a safe integer, or a rate outside [0, 1].
   */
  constructor(
    private readonly inner: BrokerPort,
    readonly options: FaultInjectionOptions,
  ) {
    if (!isFaultProfile(options.profile)) throw new Error(`unknown fault profile ${JSON.stringify(options.profile)}`);
    if (!Number.isSafeInteger(options.seed)) throw new Error(`fault seed must be a safe integer, got ${options.seed}`);
    const rates: FaultRates = { ...FAULT_RATES[options.profile], ...options.rates };
    for (const [name, value] of Object.entries(rates)) {
      const isCount = name === 'latencyMaxMs' || name === 'rateLimitBurstMax';
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!isCount && value > 1) || (isCount && !Number.isInteger(value))) {
        throw new Error(`fault rate ${name} must be ${isCount ? 'a whole number >= 0' : 'in [0, 1]'}, got ${value}`);
      }
    }
    this.rates = Object.freeze(rates);
    this.seedKey = foldSeed(options.seed);
    this.rng = generator(this.seedKey);
    this.hook = hasLimitFillHook(inner) ? inner : undefined;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.onFault = options.onFault;
  }

  /** The profile in force. */
  get profile(): FaultProfile {
    return this.options.profile;
  }

  /** True when `fill_during_cancel` can happen (the inner broker has the fill hook). */
  get canFillDuringCancel(): boolean {
    return this.hook !== undefined;
  }

  async getAccount(): Promise<BrokerAccount> {
    return this.run('getAccount', async (ctx) => this.served(ctx, await this.inner.getAccount()));
  }

  async listPositions(): Promise<BrokerPosition[]> {
    return this.run('listPositions', async (ctx) => this.served(ctx, await this.inner.listPositions()));
  }

  async listOrders(filter: { status: 'open' | 'closed' | 'all' }): Promise<BrokerOrder[]> {
    return this.run('listOrders', async (ctx) => {
      const orders = this.served(ctx, await this.inner.listOrders(filter));
      return orders.map((o) => this.present(ctx, o, undefined));
    });
  }

  async getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | undefined> {
    return this.run('getOrderByClientOrderId', async (ctx) => {
      const order = this.served(ctx, await this.inner.getOrderByClientOrderId(clientOrderId));
      return order ? this.present(ctx, order, undefined) : undefined;
    });
  }

  async getOrder(brokerOrderId: string): Promise<BrokerOrder> {
    return this.run('getOrder', async (ctx) => this.present(ctx, this.served(ctx, await this.inner.getOrder(brokerOrderId)), undefined));
  }

  async submitOrder(request: SubmitOrderRequest): Promise<BrokerOrder> {
    return this.run('submitOrder', async (ctx) => {
      const order = await this.inner.submitOrder(request);
      const created = `order ${order.id} (client_order_id ${request.clientOrderId}) was created`;
      const { timeoutAfterAccept, serverErrorAfterSubmit } = this.rates;
      if (ctx.draws.after < timeoutAfterAccept) {
        this.record(ctx, 'timeout_after_accept', `${created}; the response timed out`);
        throw new BrokerTransportError('timeout', 'request timed out (injected after the order was accepted)');
      }
      if (ctx.draws.after < timeoutAfterAccept + serverErrorAfterSubmit) {
        const [status, message] = serverError(ctx.draws.serverStatus);
        this.record(ctx, 'server_error', `${status} after the broker acted: ${created}`);
        throw new BrokerError(status, message);
      }
      this.dropIf(ctx, ctx.draws.after - timeoutAfterAccept - serverErrorAfterSubmit, `; ${created}`);
      return this.present(ctx, order, undefined);
    });
  }

  async cancelOrder(brokerOrderId: string): Promise<void> {
    return this.run('cancelOrder', async (ctx) => {
      if (this.hook && ctx.draws.special < this.rates.fillDuringCancel) {
        const filled = await this.hook.fillOpenOrderAtLimit(brokerOrderId);
        if (filled) {
          this.record(
            ctx,
            'fill_during_cancel',
            `order ${brokerOrderId} (client_order_id ${filled.clientOrderId}) filled ${filled.filledQty} at ${filled.filledAvgPrice} while the cancel was in flight`,
          );
        }
      }
      await this.inner.cancelOrder(brokerOrderId); // after a racing fill: the inner broker's own 422
      this.served(ctx, undefined, ` (the cancel of ${brokerOrderId} was accepted)`);
    });
  }

  async listExecutions(filter: { after?: string }): Promise<BrokerExecution[]> {
    return this.run('listExecutions', async (ctx) => {
      const executions = this.served(ctx, await this.inner.listExecutions(filter));
      for (const e of executions) {
        if (this.delivered.some((d) => d.id === e.id)) continue;
        this.delivered.push(structuredClone(e));
        if (this.delivered.length > REPLAY_POOL) this.delivered.shift();
      }
      if (!(ctx.draws.special < this.rates.replayedFill) || this.delivered.length === 0) return executions;
      const sub = generator(ctx.draws.sub);
      const pool = [...this.delivered];
      const count = 1 + Math.floor(uniformFloat64(sub) * Math.min(REPLAY_MAX, pool.length));
      const replayed: BrokerExecution[] = [];
      for (let i = 0; i < count; i += 1) {
        const j = i + Math.floor(uniformFloat64(sub) * (pool.length - i));
        const picked = pool[j]!;
        pool[j] = pool[i]!;
        pool[i] = picked;
        replayed.push(structuredClone(picked));
      }
      this.record(ctx, 'replayed_fill', `executions ${replayed.map((e) => `${e.id} (order ${e.orderId})`).join(', ')} delivered again`);
      // Stable: a replayed execution comes after the originals with the same time.
      return [...executions, ...replayed].sort((a, b) => Date.parse(a.transactionTime) - Date.parse(b.transactionTime));
    });
  }

  // -------------------------------------------------------------------------------------------

  /** Draws, then the faults that strike before the request reaches the inner broker, then `body`. */
  private async run<T>(method: BrokerMethod, body: (ctx: CallContext) => Promise<T>): Promise<T> {
    this.calls += 1;
    const ctx: CallContext = { call: this.calls, method, draws: this.draw() };
    const { draws } = ctx;
    if (draws.latency < this.rates.latency && this.rates.latencyMaxMs >= 1) {
      const ms = 1 + Math.floor(draws.latencyMs * this.rates.latencyMaxMs);
      this.record(ctx, 'latency', `delayed ${ms} ms`);
      await this.sleep(ms);
    }
    if (this.burstLeft === 0 && draws.rateLimit < this.rates.rateLimited && this.rates.rateLimitBurstMax >= 1) {
      this.burstLength = 1 + Math.floor(draws.burst * this.rates.rateLimitBurstMax);
      this.burstLeft = this.burstLength;
    }
    if (this.burstLeft > 0) {
      this.record(ctx, 'rate_limited', `429 burst: call ${this.burstLength - this.burstLeft + 1} of ${this.burstLength} refused`);
      this.burstLeft -= 1;
      throw new BrokerError(429, 'too many requests');
    }
    if (draws.serverBefore < this.rates.serverErrorBefore) {
      const [status, message] = serverError(draws.serverStatus);
      this.record(ctx, 'server_error', `${status} before the request reached the broker`);
      throw new BrokerError(status, message);
    }
    return body(ctx);
  }

  /** The inner broker answered `result`; the response may still be lost on the way back. */
  private served<T>(ctx: CallContext, result: T, note = ''): T {
    this.dropIf(ctx, ctx.draws.after, note);
    return result;
  }

  /** Throws a `dropped_response` when `u` falls under the dropped-response rate. */
  private dropIf(ctx: CallContext, u: number, note: string): void {
    if (u >= 0 && u < this.rates.droppedResponse) {
      this.record(ctx, 'dropped_response', `the broker served ${ctx.method}; the response was lost${note}`);
      throw new BrokerTransportError('network', 'fetch failed: ECONNRESET (injected: response lost)');
    }
  }

  /**
   * The client's view of an order: a copy, with `held_leg` and `phantom_cancel` applied to it and
   * its legs. `parent` is the inner broker's (true) view of the parent when the order is nested.
   */
  private present(ctx: CallContext, order: BrokerOrder, parent: BrokerOrder | undefined): BrokerOrder {
    const view: BrokerOrder = { ...structuredClone(order), legs: order.legs.map((leg) => this.present(ctx, leg, order)) };
    const working = order.status === 'new' || order.status === 'accepted';
    // A working stop leg: nested under its filled parent, or on its own (a leg works only once its
    // parent filled; an open parent would list it nested, a canceled one would have canceled it).
    const liveLeg =
      order.type === 'stop' &&
      working &&
      (parent !== undefined ? parent.status === 'filled' : order.legs.length === 0 && (order.orderClass === 'oto' || order.orderClass === 'bracket'));
    if (liveLeg && this.picked('held_leg', order.id, this.rates.heldLeg)) {
      view.status = 'held';
      this.record(ctx, 'held_leg', `working stop leg ${order.id} (${order.status}, stop ${order.stopPrice}) reported as held`);
    }
    const hasFills = isPositive(order.filledQty) && order.filledAvgPrice !== null && isPositive(order.filledAvgPrice);
    const phantom =
      hasFills && (this.phantomCanceled.has(order.id) || (order.status === 'filled' && this.picked('phantom_cancel', order.id, this.rates.phantomCancel)));
    if (phantom) {
      this.phantomCanceled.add(order.id);
      view.status = 'canceled';
      view.canceledAt = order.canceledAt ?? order.filledAt;
      this.record(ctx, 'phantom_cancel', `order ${order.id} (${order.status}, filled ${order.filledQty} at ${order.filledAvgPrice}) reported as canceled`);
    }
    return view;
  }

  /** Whether the per-order fault `kind` strikes order `id`: a hash of the seed, kind and id against `rate`. */
  private picked(kind: FaultKind, id: string, rate: number): boolean {
    if (rate <= 0) return false;
    return uniformFloat64(generator(fnv1a(`${this.seedKey}:${kind}:${id}`))) < rate;
  }

  private draw(): Draws {
    const u = () => uniformFloat64(this.rng);
    return {
      latency: u(),
      latencyMs: u(),
      rateLimit: u(),
      burst: u(),
      serverBefore: u(),
      serverStatus: u(),
      after: u(),
      special: u(),
      sub: this.rng.next(),
    };
  }

  private record(ctx: CallContext, kind: FaultKind, detail: string): void {
    const fault: FaultRecord = { call: ctx.call, kind, method: ctx.method, detail };
    this.faults.push(fault);
    this.onFault?.({ ...fault });
  }
}

/**
 * Wraps `inner` (normally the PaperBroker) in a seeded fault injector. Profile `none` is a pure
 * pass-through.
 * @throws Error for an unknown profile, a bad seed or a bad rate override.
 */
export function createFaultInjectingBroker(inner: BrokerPort, options: FaultInjectionOptions): FaultInjectingBroker {
  return new FaultInjectingBroker(inner, options);
}

// ---------------------------------------------------------------------------------------------

function serverError(u: number): readonly [number, string] {
  return SERVER_ERRORS[Math.min(SERVER_ERRORS.length - 1, Math.floor(u * SERVER_ERRORS.length))]!;
}

function isPositive(decimal: string): boolean {
  const n = Number(decimal);
  return Number.isFinite(n) && n > 0;
}

/** A 32-bit key from any safe integer (both halves count). */
function foldSeed(seed: number): number {
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) | 0;
  return fmix32(low ^ Math.imul(high, 0x9e3779b1));
}

/** xoroshiro128plus from a 32-bit key, mixed and warmed up (its first raw outputs echo the seed). */
function generator(key: number): RandomGenerator {
  const rng = xoroshiro128plus(fmix32(key));
  for (let i = 0; i < 8; i += 1) rng.next();
  return rng;
}

/** MurmurHash3's 32-bit finalizer. */
function fmix32(h: number): number {
  let x = h | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x | 0;
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
