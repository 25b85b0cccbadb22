/**
 * The paper broker's matching engine: a simulated cash account that fills orders against real
 * daily bars. Plain data in, plain data out; the PaperBroker adapter adds persistence and time.
 *
 * A session D is played in two phases (documented because backtest results depend on them):
 *
 * Phase "open" (`processSessionOpen`, once the clock is at or after D's open, before its close).
 * Only D's OPEN price is used: it is public at 09:30, so nothing later in the bar is looked at.
 * - Orders eligible at D's open: orders working from an earlier session, and orders submitted
 *   before D's open (eligible from D). Market orders fill at the open. Buy limits fill at the open
 *   when open ≤ limit; sell limits when open ≥ limit. Sell stops (stop-loss legs) fill at the open
 *   when the bar gaps through them (open ≤ stop). Fills are stamped at the session open.
 * - A stop leg whose parent filled at the open becomes live, and fills at the open if the open is
 *   already through its stop.
 * - Positions are marked at D's open. Reads during the session show these fills and marks.
 *
 * Phase "close" (`processSession`, once the clock is at or after D's close). The rest of the bar:
 * - Stops that were live at the open and did not gap fill at the stop when low ≤ stop; they are
 *   checked first, before the other orders of the phase (pessimistic). Orders eligible at the open
 *   that did not fill there fill at the limit when low ≤ limit (buys) or high ≥ limit (sells). A
 *   stop leg that went live at the open is checked against the rest of the bar (pessimistic: the
 *   low is assumed to come after the entry).
 * - Orders submitted while D was open (after its open, before its close) are eligible on D's bar
 *   but NOT at its open, which had passed: a buy limit fills when low ≤ limit at min(limit, high),
 *   a sell limit when high ≥ limit at max(limit, low) — the worst price the bar traded within the
 *   limit (pessimistic, since the price at the moment of submission is unknown inside a daily bar,
 *   but never a price the bar did not trade, e.g. on a gap-down day); a MARKET order fills at D's
 *   close (the time inside a daily bar is unknown; the close is the one later price known); a
 *   sell stop fills at the stop when low ≤ stop. Buying power for such a market buy is reserved
 *   at the latest known price (the open mark).
 * - Stop legs of a parent filled in this phase go live and are checked against the rest of the
 *   bar (low ≤ stop fills at the stop). Intrabar fills are stamped at the session close.
 * - `day` orders still open at the close expire; a parent that ends unfilled cancels its legs.
 * - Positions are marked at D's close.
 *
 * When D's open phase was not played on its own (the PaperBroker plays it only when the account
 * is used during D), `processSession` plays the whole bar in one pass with the same rules, checking the stops live before the open
 * first (gap at the open, else the low), then the entries in submission order. For orders submitted
 * before the open the two phases give the same fills, prices, times, cash, positions and marks as
 * that one pass, except where orders compete for the same shares or cash: the one pass lets a stop
 * triggered later in the bar go before an order filled at the open (pessimistic), whereas once the
 * open phase has been played its fills are final. Executions are listed in the order they were
 * made (two phases: every fill at the open before the intrabar ones).
 *
 * Costs ({@link PaperCosts}, from the strategy config's `commissionPerShare` and `slippageBps`):
 * every fill price found by the rules above is moved against the trader by the slippage (buys
 * × (1 + bps/10,000), sells × (1 − bps/10,000), rounded to $0.0001 against the trader), but a limit
 * order never fills beyond its limit (a limit is a hard cap at any broker, so its slippage is capped
 * there); stops and market orders take the full slippage. The commission, qty × commission per
 * share, is paid from cash at each fill and recorded on the execution.
 *
 * General rules:
 * - An order is never filled on a bar of a session that closed before its submission, nor at an
 *   open that happened before its submission (no look-ahead inside a bar).
 * - No partial fills, no shorting.
 * - Refusals mirror Alpaca: 422 `client_order_id must be unique` (forever, even after a cancel),
 *   403 `insufficient buying power`, 422 `order is not cancelable`, 404 `order not found`.
 */
import type { Bar } from '../../../core/bars';
import type { Session } from '../../../core/calendar';
import { Dec, dec } from '../../../core/money';
import { isOpenStatus, TERMINAL_STATUSES, type AlpacaOrderStatus } from '../../../core/order-status';
import {
  BrokerError,
  type BrokerAccount,
  type BrokerExecution,
  type BrokerOrder,
  type BrokerPosition,
  type OrderClass,
  type OrderSide,
  type OrderType,
  type SubmitOrderRequest,
  type TimeInForce,
} from '../../../ports';

/** Alpaca's error code for a reused client_order_id. */
export const DUPLICATE_CLIENT_ORDER_ID_CODE = 40010001;

export interface PaperOrder {
  id: string;
  clientOrderId: string;
  parentId: string | null;
  legIds: string[];
  symbol: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  orderClass: OrderClass;
  qty: string;
  filledQty: string;
  filledAvgPrice: string | null;
  limitPrice: string | null;
  stopPrice: string | null;
  status: AlpacaOrderStatus;
  submittedAt: string;
  filledAt: string | null;
  canceledAt: string | null;
  expiredAt: string | null;
  updatedAt: string;
  /** First session date whose bar may fill the order. */
  eligibleFrom: string;
  /**
   * False when the order was submitted while session `eligibleFrom` was already open: that
   * session's opening price is not available to it (see module doc). Absent: true (also in
   * accounts saved before it existed).
   */
  eligibleAtOpen?: boolean;
  /** Why the engine canceled it, when it did. */
  note: string | null;
  /**
   * USD per share that buying power is reserved at while a buy is open: the limit price, or for
   * market orders the reference price at submission. Absent in accounts saved before it existed.
   */
  reservePrice?: string;
}

export interface PaperPosition {
  /** Shares, > 0. */
  qty: string;
  /** USD per share. */
  avgEntryPrice: string;
  /** Last mark, USD per share: the last close seen, or the open of the session in progress. */
  lastPrice: string;
}

/** One execution (fill) with its own id, like a broker trade activity. */
export interface PaperExecution {
  id: string;
  orderId: string;
  symbol: string;
  side: OrderSide;
  qty: string;
  price: string;
  at: string;
  session: string;
  /** The order's filled qty after this execution (absent in accounts saved before it existed). */
  cumQty?: string;
  /** USD paid in commission for this execution (absent: 0, and in accounts saved before it existed). */
  commission?: string;
}

/**
 * The paper broker's cost model (backtest costs). Units: USD per share, and bps of the fill price.
 * Defaults come from the strategy config (`commissionPerShare` 0, `slippageBps` 5).
 */
export interface PaperCosts {
  /** Commission per share, USD (decimal string, ≥ 0). */
  commissionPerShare: string;
  /** Slippage against the trader, bps of the price (≥ 0); capped at the limit for limit orders. */
  slippageBps: number;
}

/** No commission, no slippage: the engine's fill prices as the bar rules give them. */
export const NO_COSTS: PaperCosts = Object.freeze({ commissionPerShare: '0', slippageBps: 0 });

/**
 * The price a fill is booked at after slippage (see the module doc).
 * @param price the rule price from the bar (USD per share).
 * @returns price × (1 ± bps/10,000), rounded to $0.0001 against the trader, never beyond a limit.
 */
export function slippedPrice(order: Pick<PaperOrder, 'side' | 'type' | 'limitPrice'>, price: Dec, costs: PaperCosts): Dec {
  if (costs.slippageBps === 0) return price;
  const factor = dec(costs.slippageBps).div(10_000);
  const buy = order.side === 'buy';
  let slipped = (buy ? price.times(dec(1).plus(factor)) : price.times(dec(1).minus(factor))).toDecimalPlaces(4, buy ? Dec.ROUND_UP : Dec.ROUND_DOWN);
  if (order.type === 'limit' && order.limitPrice !== null) {
    const limit = dec(order.limitPrice);
    slipped = buy ? Dec.min(slipped, limit) : Dec.max(slipped, limit);
  }
  return slipped;
}

/** The two phases a session is played in (see module doc). */
export type SessionPhase = 'open' | 'close';

/** A phase of one session. */
export interface PlayedPhase {
  /** Session date. */
  session: string;
  phase: SessionPhase;
}

export interface PaperState {
  schema: 1;
  accountId: string;
  createdAt: string;
  /** USD. */
  initialCash: string;
  /** USD. */
  cash: string;
  /** Last session date whose bar has been processed through its close; null before the first. */
  processedThrough: string | null;
  /**
   * The last phase played: `{ session: D, phase: 'open' }` while D is in progress (its open phase
   * played, its close not yet), else `{ session: processedThrough, phase: 'close' }`; null before
   * the first. Absent in accounts saved before sessions had two phases: read as closed through
   * `processedThrough` (see `lastPlayedPhase`).
   */
  lastPlayed?: PlayedPhase | null;
  positions: Record<string, PaperPosition>;
  orders: PaperOrder[];
  executions: PaperExecution[];
  nextId: number;
}

/** A fresh account holding only cash. */
export function newPaperState(accountId: string, initialCash: string, now: string, processedThrough: string | null): PaperState {
  const cash = dec(initialCash, 'initialCash');
  if (cash.lte(0)) throw new Error(`initialCash must be > 0, got ${initialCash}`);
  return {
    schema: 1,
    accountId,
    createdAt: now,
    initialCash: cash.toString(),
    cash: cash.toString(),
    processedThrough,
    lastPlayed: processedThrough === null ? null : { session: processedThrough, phase: 'close' },
    positions: {},
    orders: [],
    executions: [],
    nextId: 1,
  };
}

/** The last phase played (accounts saved without `lastPlayed` are closed through `processedThrough`). */
export function lastPlayedPhase(state: PaperState): PlayedPhase | null {
  if (state.lastPlayed !== undefined) return state.lastPlayed;
  return state.processedThrough === null ? null : { session: state.processedThrough, phase: 'close' };
}

/** The session in progress: its open phase has been played, its close not yet; else undefined. */
export function sessionInProgress(state: PaperState): string | undefined {
  const last = lastPlayedPhase(state);
  return last?.phase === 'open' ? last.session : undefined;
}

export interface SubmitContext {
  /** ISO-8601 UTC submission time. */
  now: string;
  /** First session whose bar may fill the order (see module doc), or undefined if none is known. */
  eligibleFrom: string | undefined;
  /**
   * False when `eligibleFrom` is the session in progress (submitted after its open, before its
   * close): the order trades on the rest of that session's bar, never at its open. Default true.
   * Also false whenever the open phase of `eligibleFrom` has already been played.
   */
  eligibleAtOpen?: boolean;
  /** True while a session is open (Alpaca reports `new` then, `accepted` outside hours). */
  marketOpen: boolean;
  /** Whether the symbol is tradable (has market data). */
  knownSymbol: boolean;
  /** Latest known price, USD (the open mark during a session), used to reserve buying power for market buys. */
  referencePrice: string | undefined;
}

const SUPPORTED_TIF: ReadonlySet<TimeInForce> = new Set(['day', 'gtc']);

/**
 * The copy of `current` an engine function changes and returns (the input is never changed).
 * Orders in a terminal status (TERMINAL_STATUSES: nothing changes them again) and executions (only
 * ever appended) are shared with `current` and frozen, so a write to one throws instead of reaching
 * both states; everything else (cash, positions, the orders still open or held) is copied. An
 * account keeps every order and execution it ever had, so copying it whole on every call made each
 * call cost as much as the account's history. A field added to PaperState or PaperOrder that holds
 * an object must be copied here too.
 */
function copyForChange(current: PaperState): PaperState {
  return {
    ...current,
    ...(current.lastPlayed ? { lastPlayed: { ...current.lastPlayed } } : {}),
    positions: structuredClone(current.positions),
    orders: current.orders.map((order) => {
      if (!TERMINAL_STATUSES.has(order.status)) return { ...order, legIds: [...order.legIds] };
      if (!Object.isFrozen(order)) {
        Object.freeze(order.legIds);
        Object.freeze(order);
      }
      return order;
    }),
    executions: current.executions.map((execution) => (Object.isFrozen(execution) ? execution : Object.freeze(execution))),
  };
}

/**
 * Accepts an order or refuses it the way Alpaca would.
 * @throws BrokerError 422 (duplicate client_order_id, invalid or unsupported fields, unknown
 *   symbol), 403 (insufficient buying power or shares).
 */
export function submitOrder(current: PaperState, req: SubmitOrderRequest, ctx: SubmitContext): { state: PaperState; order: PaperOrder } {
  const state = copyForChange(current);
  if (state.orders.some((o) => o.clientOrderId === req.clientOrderId)) {
    throw new BrokerError(422, 'client_order_id must be unique', DUPLICATE_CLIENT_ORDER_ID_CODE);
  }
  if (!req.clientOrderId || req.clientOrderId.length > 48) throw new BrokerError(422, 'client_order_id must be 1-48 characters');
  if (!ctx.knownSymbol) throw new BrokerError(422, `asset not found: ${req.symbol}`);
  if (!/^[1-9]\d*$/.test(req.qty)) throw new BrokerError(422, `qty must be a whole number of shares > 0, got ${req.qty}`);
  if (!SUPPORTED_TIF.has(req.timeInForce)) throw new BrokerError(422, `time_in_force ${req.timeInForce} is not supported by the paper broker (day, gtc)`);
  if (req.type === 'stop_limit') throw new BrokerError(422, 'order type stop_limit is not supported by the paper broker');
  if (req.type === 'limit' && !req.limitPrice) throw new BrokerError(422, 'limit_price is required for limit orders');
  if (req.type === 'stop' && !req.stopPrice) throw new BrokerError(422, 'stop_price is required for stop orders');
  for (const [name, value] of [['limit_price', req.limitPrice], ['stop_price', req.stopPrice], ['stop_loss.stop_price', req.stopLoss?.stopPrice]] as const) {
    if (value === undefined) continue;
    let price: Dec;
    try {
      price = dec(value, name);
    } catch {
      throw new BrokerError(422, `${name} must be a decimal number, got ${JSON.stringify(value)}`);
    }
    if (!price.gt(0)) throw new BrokerError(422, `${name} must be > 0, got ${value}`);
  }
  if (req.orderClass === 'bracket' || req.orderClass === 'oco') {
    throw new BrokerError(422, `order_class ${req.orderClass} is not supported by the paper broker (simple, oto)`);
  }
  if (req.orderClass === 'oto') {
    if (!req.stopLoss) throw new BrokerError(422, 'oto orders require stop_loss');
    if (req.side !== 'buy') throw new BrokerError(422, 'the paper broker supports oto only for buy entries');
    if (req.type !== 'market' && req.type !== 'limit') {
      // A stop entry would fill in the stop pass, which does not arm legs: the position would be unprotected.
      throw new BrokerError(422, `the paper broker supports oto only for market or limit entries, got ${req.type}`);
    }
    const base = req.limitPrice ?? ctx.referencePrice;
    if (base && dec(req.stopLoss.stopPrice).gt(dec(base).minus('0.01'))) {
      throw new BrokerError(422, `stop_loss.stop_price must be <= base_price - 0.01 (base ${base}, stop ${req.stopLoss.stopPrice})`);
    }
  } else if (req.stopLoss) {
    throw new BrokerError(422, 'stop_loss is only allowed with order_class oto or bracket');
  }
  if (!ctx.eligibleFrom) throw new BrokerError(422, 'market is closed and no future session is known');

  const qty = dec(req.qty);
  let reservePrice: string | undefined;
  if (req.side === 'buy') {
    reservePrice = req.limitPrice ?? ctx.referencePrice;
    if (!reservePrice) throw new BrokerError(403, 'insufficient buying power (no price to reserve against)');
    if (dec(buyingPower(state)).lt(qty.times(dec(reservePrice)))) throw new BrokerError(403, 'insufficient buying power');
  } else {
    const held = dec(state.positions[req.symbol]?.qty ?? '0');
    const committed = openSellQty(state, req.symbol);
    if (held.minus(committed).lt(qty)) {
      throw new BrokerError(403, `insufficient qty available for order (requested: ${qty}, available: ${held.minus(committed)})`);
    }
  }

  const status: AlpacaOrderStatus = ctx.marketOpen ? 'new' : 'accepted';
  // An open already played is never available to a later order.
  const atOpen = ctx.eligibleAtOpen !== false && sessionInProgress(state) !== ctx.eligibleFrom;
  const parent: PaperOrder = {
    id: nextId(state, 'ord'),
    clientOrderId: req.clientOrderId,
    parentId: null,
    legIds: [],
    symbol: req.symbol,
    side: req.side,
    type: req.type,
    timeInForce: req.timeInForce,
    orderClass: req.orderClass,
    qty: qty.toString(),
    filledQty: '0',
    filledAvgPrice: null,
    limitPrice: req.limitPrice ?? null,
    stopPrice: req.stopPrice ?? null,
    status,
    submittedAt: ctx.now,
    filledAt: null,
    canceledAt: null,
    expiredAt: null,
    updatedAt: ctx.now,
    eligibleFrom: ctx.eligibleFrom,
    ...(atOpen ? {} : { eligibleAtOpen: false }),
    note: null,
    ...(reservePrice !== undefined ? { reservePrice } : {}),
  };
  state.orders.push(parent);
  if (req.stopLoss) {
    const legId = nextId(state, 'ord');
    // Generated, so it must not collide with a client_order_id a caller already chose.
    let legClientOrderId = `${legId}-leg`;
    for (let n = 2; state.orders.some((o) => o.clientOrderId === legClientOrderId); n += 1) legClientOrderId = `${legId}-leg-${n}`;
    // A leg's eligibility is set when it goes live (the session its parent fills in).
    const { reservePrice: _parentReserve, eligibleAtOpen: _parentAtOpen, ...leg } = parent;
    state.orders.push({
      ...leg,
      id: legId,
      clientOrderId: legClientOrderId,
      parentId: parent.id,
      legIds: [],
      side: req.side === 'buy' ? 'sell' : 'buy',
      type: 'stop',
      limitPrice: null,
      stopPrice: req.stopLoss.stopPrice,
      status: 'held',
    });
    parent.legIds.push(legId);
  }
  return { state, order: parent };
}

/**
 * Cancels an open order (and the held legs of a parent). Immediate in the paper broker.
 * @throws BrokerError 404 when unknown, 422 `order is not cancelable` when already terminal.
 */
export function cancelOrder(current: PaperState, orderId: string, now: string): PaperState {
  const state = copyForChange(current);
  const order = state.orders.find((o) => o.id === orderId);
  if (!order) throw new BrokerError(404, 'order not found');
  if (!isOpenStatus(order.status)) throw new BrokerError(422, 'order is not cancelable');
  markCanceled(order, now, 'canceled by request');
  cancelHeldLegs(state, order, now, 'parent canceled');
  return state;
}

/**
 * Plays the OPEN phase of `session` (see module doc): fills at the open price only, for orders
 * eligible at the open; stop legs of parents filled there go live; positions marked at the open.
 * @param barFor the validated bar of `symbol` for `session.date`, or undefined (no fill, no mark).
 *   Only its open is used.
 * @throws Error when the session was already processed, its open phase already played, or another
 *   session is still in progress (its close not played).
 */
export function processSessionOpen(current: PaperState, session: Session, barFor: (symbol: string) => Bar | undefined, costs: PaperCosts = NO_COSTS): PaperState {
  assertNotProcessed(current, session);
  const inProgress = sessionInProgress(current);
  if (inProgress === session.date) throw new Error(`the open of session ${session.date} was already played`);
  if (inProgress !== undefined) throw new Error(`session ${inProgress} is in progress (its close was not played); cannot open ${session.date}`);
  const state = copyForChange(current);
  playBar(state, session, barFor, 'open', costs);
  state.lastPlayed = { session: session.date, phase: 'open' };
  return state;
}

/**
 * Plays `session` through its CLOSE (see module doc): the rest of the bar after its open phase, or,
 * when the open phase was not played, the whole bar in one pass; day orders expire; positions are
 * marked at the close.
 * @param barFor the validated bar of `symbol` for `session.date`, or undefined (no fill, no mark).
 * @throws Error when sessions are played out of order (or another session is still in progress).
 */
export function processSession(current: PaperState, session: Session, barFor: (symbol: string) => Bar | undefined, costs: PaperCosts = NO_COSTS): PaperState {
  assertNotProcessed(current, session);
  const inProgress = sessionInProgress(current);
  if (inProgress !== undefined && inProgress !== session.date) {
    throw new Error(`session ${inProgress} is in progress (its close was not played); cannot play ${session.date}`);
  }
  const state = copyForChange(current);
  playBar(state, session, barFor, inProgress === session.date ? 'rest' : 'whole', costs);
  state.processedThrough = session.date;
  state.lastPlayed = { session: session.date, phase: 'close' };
  return state;
}

function assertNotProcessed(state: PaperState, session: Session): void {
  if (state.processedThrough !== null && session.date <= state.processedThrough) {
    throw new Error(`session ${session.date} already processed (through ${state.processedThrough})`);
  }
}

/**
 * Which part of a session's bar is played: `open` (the open phase), `rest` (the close phase after
 * an open phase), `whole` (the close phase when the open phase was not played: one pass).
 */
type BarPart = 'open' | 'rest' | 'whole';

/** Plays one part of `session`'s bar on `state` (mutated; see the module doc for the rules). */
function playBar(state: PaperState, session: Session, barFor: (symbol: string) => Bar | undefined, part: BarPart, costs: PaperCosts): void {
  const date = session.date;
  const eligible = (o: PaperOrder) => o.eligibleFrom <= date;
  /** Whether the order may trade at this session's open (working before it, not submitted during it). */
  const atOpen = (o: PaperOrder) => o.eligibleFrom < date || (o.eligibleFrom === date && o.eligibleAtOpen !== false);
  const byId = (id: string) => state.orders.find((o) => o.id === id);
  /** A parent filled at this session's open (its legs went live then). */
  const filledAtThisOpen = (o: PaperOrder) => o.status === 'filled' && o.filledAt === session.openUtc && eligible(o);

  // 1. Stops live before this session's open (carried, or submitted before it), and stops
  //    submitted during it. Legs that went live at this open are checked after their parent (2).
  for (const order of state.orders) {
    if (order.type !== 'stop' || !eligible(order) || !isWorking(order.status)) continue;
    if (part === 'open' && !atOpen(order)) continue;
    if (part === 'rest' && order.parentId !== null && order.eligibleFrom === date && filledAtThisOpen(byId(order.parentId)!)) continue;
    const bar = barFor(order.symbol);
    if (!bar) continue;
    tryStop(state, order, bar, session, part === 'open' ? 'gap' : part === 'whole' && atOpen(order) ? 'whole' : 'intrabar', costs);
  }
  // 2. Entries and other non-stop orders, in submission order.
  for (const order of state.orders) {
    if (order.type === 'stop' || order.parentId !== null || !eligible(order)) continue;
    if (part === 'rest' && filledAtThisOpen(order)) {
      // Its legs went live at the open: the rest of the bar (down to its low) may hit them.
      const bar = barFor(order.symbol);
      for (const leg of order.legIds.map(byId)) {
        if (bar && leg && leg.eligibleFrom === date && isWorking(leg.status)) tryStop(state, leg, bar, session, 'intrabar', costs);
      }
      continue;
    }
    if (!isWorking(order.status)) continue;
    if (part === 'open' && !atOpen(order)) continue;
    const bar = barFor(order.symbol);
    if (!bar) continue;
    const fill =
      part === 'open' ? openFill(order, bar) : !atOpen(order) ? intradayFill(order, bar) : part === 'rest' ? intrabarFill(order, bar) : (openFill(order, bar) ?? intrabarFill(order, bar));
    if (!fill) continue;
    const at = fill.atOpen ? session.openUtc : session.closeUtc;
    if (!applyFill(state, order, fill.price, at, session, costs)) {
      cancelHeldLegs(state, order, at, 'parent canceled');
      continue;
    }
    for (const legId of order.legIds) {
      const leg = byId(legId);
      if (!leg || leg.status !== 'held') continue;
      leg.status = 'new';
      leg.eligibleFrom = date;
      leg.updatedAt = at;
      // Pessimistic: the rest of the bar (down to its low) may hit the new stop. In the open
      // phase only the open is known: the rest of the bar is checked in the close phase.
      tryStop(state, leg, bar, session, !fill.atOpen ? 'intrabar' : part === 'open' ? 'gap' : 'whole', costs);
    }
  }
  if (part !== 'open') {
    // 3. Close: day orders expire; unfilled parents take their held legs with them.
    for (const order of state.orders) {
      if (order.timeInForce === 'day' && eligible(order) && isWorking(order.status) && order.parentId === null) {
        order.status = 'expired';
        order.expiredAt = session.closeUtc;
        order.updatedAt = session.closeUtc;
        for (const legId of order.legIds) {
          const leg = byId(legId);
          if (leg && (leg.status === 'held' || isWorking(leg.status))) markCanceled(leg, session.closeUtc, 'parent expired');
        }
      }
    }
  }
  // 4. Mark to market: at the open in the open phase, else at the close.
  for (const [symbol, position] of Object.entries(state.positions)) {
    const bar = barFor(symbol);
    if (bar) position.lastPrice = dec(part === 'open' ? bar.open : bar.close).toString();
  }
}

/** Broker view of an order, legs nested. */
export function toBrokerOrder(state: PaperState, order: PaperOrder): BrokerOrder {
  return {
    id: order.id,
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    orderClass: order.orderClass,
    qty: order.qty,
    filledQty: order.filledQty,
    filledAvgPrice: order.filledAvgPrice,
    limitPrice: order.limitPrice,
    stopPrice: order.stopPrice,
    status: order.status,
    submittedAt: order.submittedAt,
    filledAt: order.filledAt,
    canceledAt: order.canceledAt,
    expiredAt: order.expiredAt,
    legs: order.legIds
      .map((id) => state.orders.find((o) => o.id === id))
      .filter((o): o is PaperOrder => o !== undefined)
      .map((leg) => toBrokerOrder(state, leg)),
  };
}

/**
 * Executions at or after `after` (ISO-8601 UTC; all when undefined), oldest first, in the broker
 * port's shape. `cumQty` is recomputed per order for executions saved without it.
 */
export function executionsOf(state: PaperState, after: string | undefined): BrokerExecution[] {
  const cumulative = new Map<string, Dec>();
  const out: BrokerExecution[] = [];
  for (const e of state.executions) {
    const cum = e.cumQty ? dec(e.cumQty) : (cumulative.get(e.orderId) ?? new Dec(0)).plus(dec(e.qty));
    cumulative.set(e.orderId, cum);
    if (after !== undefined && Date.parse(e.at) < Date.parse(after)) continue;
    out.push({ id: e.id, orderId: e.orderId, symbol: e.symbol, side: e.side, qty: e.qty, price: e.price, cumQty: cum.toString(), transactionTime: e.at, ...(e.commission ? { commission: e.commission } : {}) });
  }
  return out;
}

/** Cash, equity (cash + positions at last price) and buying power (cash − open buy reservations), USD. */
export function accountOf(state: PaperState): BrokerAccount {
  let equity = dec(state.cash);
  for (const p of Object.values(state.positions)) equity = equity.plus(dec(p.qty).times(dec(p.lastPrice)));
  return { cash: state.cash, equity: equity.toString(), buyingPower: buyingPower(state), tradingBlocked: false };
}

/** Open positions, sorted by symbol. */
export function positionsOf(state: PaperState): BrokerPosition[] {
  return Object.entries(state.positions)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([symbol, p]) => ({
      symbol,
      qty: p.qty,
      avgEntryPrice: p.avgEntryPrice,
      currentPrice: p.lastPrice,
      marketValue: dec(p.qty).times(dec(p.lastPrice)).toString(),
    }));
}

// ---------------------------------------------------------------------------------------------

function nextId(state: PaperState, prefix: string): string {
  const id = `${prefix}-${String(state.nextId).padStart(8, '0')}`;
  state.nextId += 1;
  return id;
}

function isWorking(status: AlpacaOrderStatus): boolean {
  return status === 'new' || status === 'accepted' || status === 'partially_filled';
}

function markCanceled(order: PaperOrder, now: string, note: string): void {
  order.status = 'canceled';
  order.canceledAt = now;
  order.updatedAt = now;
  order.note = note;
}

/** Cancels the legs of `order` that are still waiting for it to fill. */
function cancelHeldLegs(state: PaperState, order: PaperOrder, now: string, note: string): void {
  for (const legId of order.legIds) {
    const leg = state.orders.find((o) => o.id === legId);
    if (leg && leg.status === 'held') markCanceled(leg, now, note);
  }
}

function buyingPower(state: PaperState): string {
  let reserved = new Dec(0);
  for (const o of state.orders) {
    if (o.side !== 'buy' || !isWorking(o.status) || o.parentId !== null) continue;
    const price = o.limitPrice ?? o.reservePrice ?? state.positions[o.symbol]?.lastPrice;
    if (price) reserved = reserved.plus(dec(o.qty).minus(dec(o.filledQty)).times(dec(price)));
  }
  return dec(state.cash).minus(reserved).toString();
}

function openSellQty(state: PaperState, symbol: string): Dec {
  let qty = new Dec(0);
  for (const o of state.orders) {
    // Stop legs protect the position rather than compete for it, as at Alpaca for OTO legs.
    if (o.symbol === symbol && o.side === 'sell' && o.parentId === null && isWorking(o.status)) {
      qty = qty.plus(dec(o.qty).minus(dec(o.filledQty)));
    }
  }
  return qty;
}

type FillAt = { price: Dec; atOpen: boolean };

/** Fill at the open price, for an order eligible at the open: market, or a limit the open satisfies. */
function openFill(order: PaperOrder, bar: Bar): FillAt | undefined {
  const open = dec(bar.open);
  if (order.type === 'market') return { price: open, atOpen: true };
  if (order.type !== 'limit' || order.limitPrice === null) return undefined;
  const limit = dec(order.limitPrice);
  if (order.side === 'buy' ? open.lte(limit) : open.gte(limit)) return { price: open, atOpen: true };
  return undefined;
}

/** Fill at the limit inside the bar (low ≤ limit for buys, high ≥ limit for sells); not for market orders. */
function intrabarFill(order: PaperOrder, bar: Bar): FillAt | undefined {
  if (order.type !== 'limit' || order.limitPrice === null) return undefined;
  const limit = dec(order.limitPrice);
  if (order.side === 'buy' ? dec(bar.low).lte(limit) : dec(bar.high).gte(limit)) return { price: limit, atOpen: false };
  return undefined;
}

/**
 * Fill of an order submitted while the session was open (its open had passed): a limit the bar
 * reaches fills at the worst price the bar traded within the limit — min(limit, high) for a buy,
 * max(limit, low) for a sell; market orders at the close.
 */
function intradayFill(order: PaperOrder, bar: Bar): FillAt | undefined {
  if (order.type === 'market') return { price: dec(bar.close), atOpen: false };
  const fill = intrabarFill(order, bar);
  if (!fill) return undefined;
  const worst = order.side === 'buy' ? Dec.min(fill.price, dec(bar.high)) : Dec.max(fill.price, dec(bar.low));
  return { price: worst, atOpen: false };
}

/**
 * Fills a stop if the bar reaches it. `whole`: the whole bar is available (a gap at the open fills
 * at the open, else a breach at the stop); `gap`: only the open is known (fills only when the open
 * is through the stop); `intrabar`: the stop is checked against the rest of the bar after the open
 * (a breach fills at the stop price, stamped at the close).
 */
function tryStop(state: PaperState, order: PaperOrder, bar: Bar, session: Session, check: 'whole' | 'gap' | 'intrabar', costs: PaperCosts): void {
  if (order.stopPrice === null) return;
  const stop = dec(order.stopPrice);
  const open = dec(bar.open);
  let price: Dec | undefined;
  let atOpen = false;
  const gapped = order.side === 'sell' ? open.lte(stop) : open.gte(stop);
  const breached = order.side === 'sell' ? dec(bar.low).lte(stop) : dec(bar.high).gte(stop);
  if (check !== 'intrabar' && gapped) {
    price = open;
    atOpen = true;
  } else if (check !== 'gap' && breached) price = stop;
  if (price) applyFill(state, order, price, atOpen ? session.openUtc : session.closeUtc, session, costs);
}

/**
 * Applies a full fill at the rule price moved by the costs (slippage on the price, commission from
 * cash). Returns false (and cancels the order) when it cannot be honoured.
 */
function applyFill(state: PaperState, order: PaperOrder, rulePrice: Dec, at: string, session: Session, costs: PaperCosts): boolean {
  const price = slippedPrice(order, rulePrice, costs);
  const perShare = dec(costs.commissionPerShare);
  let qty = dec(order.qty).minus(dec(order.filledQty));
  const position = state.positions[order.symbol];
  if (order.side === 'sell') {
    const held = dec(position?.qty ?? '0');
    if (held.lte(0)) {
      markCanceled(order, at, 'no position left to sell');
      return false;
    }
    if (held.lt(qty)) qty = held; // never go short
  } else if (dec(state.cash).lt(qty.times(price).plus(qty.times(perShare)))) {
    markCanceled(order, at, 'insufficient cash at fill');
    return false;
  }

  const cost = qty.times(price);
  const commission = qty.times(perShare);
  if (order.side === 'buy') {
    const oldQty = dec(position?.qty ?? '0');
    const newQty = oldQty.plus(qty);
    const avg = oldQty.times(dec(position?.avgEntryPrice ?? '0')).plus(cost).div(newQty);
    state.positions[order.symbol] = { qty: newQty.toString(), avgEntryPrice: avg.toString(), lastPrice: position?.lastPrice ?? price.toString() };
    state.cash = dec(state.cash).minus(cost).minus(commission).toString();
  } else {
    const left = dec(position!.qty).minus(qty);
    if (left.isZero()) delete state.positions[order.symbol];
    else position!.qty = left.toString();
    state.cash = dec(state.cash).plus(cost).minus(commission).toString();
  }

  const filledBefore = dec(order.filledQty);
  const filledAfter = filledBefore.plus(qty);
  const avgBefore = dec(order.filledAvgPrice ?? '0');
  order.filledAvgPrice = filledBefore.times(avgBefore).plus(cost).div(filledAfter).toString();
  order.filledQty = filledAfter.toString();
  order.status = filledAfter.eq(dec(order.qty)) ? 'filled' : 'partially_filled';
  if (order.status === 'partially_filled') {
    // Only sells are ever cut short (position smaller than the order); nothing more can fill.
    markCanceled(order, at, `filled ${filledAfter} of ${order.qty}: position exhausted`);
  }
  order.filledAt = at;
  order.updatedAt = at;
  state.executions.push({
    id: nextId(state, 'exe'),
    orderId: order.id,
    symbol: order.symbol,
    side: order.side,
    qty: qty.toString(),
    price: price.toString(),
    at,
    session: session.date,
    cumQty: filledAfter.toString(),
    ...(commission.isZero() ? {} : { commission: commission.toString() }),
  });
  return true;
}

/** Where and when `fillAtLimitNow` books its fill. */
export interface FillNowContext {
  /** ISO-8601 UTC instant of the fill. */
  now: string;
  /** The trading day the execution belongs to (the session in progress, else the last one closed). */
  session: Session;
  /**
   * First session whose bar may trigger the stop legs the fill arms (the first session opening at
   * or after `now`, so a leg never trades on a bar that began before its parent filled); undefined
   * when no later session is known (the legs keep their eligibility).
   */
  legsEligibleFrom: string | undefined;
}

/**
 * Fills an open, still unfilled limit order (a parent or simple order, not a leg) completely, right
 * now, at its limit price: a real fill that did not come from a bar. Used to simulate a fill landing
 * while a cancel is in flight (fault injection). The order's held stop legs start working, eligible
 * from `ctx.legsEligibleFrom`; cash, position and executions move exactly as for a bar fill.
 * @returns the new state and the filled order, or undefined (state untouched) when the order is
 *   unknown, not such an order, or cannot be filled in full (short of cash, or of shares to sell).
 */
export function fillAtLimitNow(current: PaperState, orderId: string, ctx: FillNowContext, costs: PaperCosts = NO_COSTS): { state: PaperState; order: PaperOrder } | undefined {
  const found = current.orders.find((o) => o.id === orderId);
  if (
    !found ||
    found.parentId !== null ||
    found.type !== 'limit' ||
    found.limitPrice === null ||
    !isWorking(found.status) ||
    !dec(found.filledQty).isZero()
  ) {
    return undefined;
  }
  const state = copyForChange(current);
  const order = state.orders.find((o) => o.id === orderId)!;
  if (!applyFill(state, order, dec(order.limitPrice!), ctx.now, ctx.session, costs) || order.status !== 'filled') return undefined;
  for (const legId of order.legIds) {
    const leg = state.orders.find((o) => o.id === legId);
    if (!leg || leg.status !== 'held') continue;
    leg.status = 'new';
    if (ctx.legsEligibleFrom !== undefined) leg.eligibleFrom = ctx.legsEligibleFrom;
    leg.updatedAt = ctx.now;
  }
  return { state, order };
}
