/**
 * Paper broker: implements the broker port with the simulated account in engine.ts, filling on
 * real daily bars from the market-data port.
 *
 * Time: every call first "catches the market up" to the clock, from the last phase the account
 * played (see engine.ts for the two phases of a session): each session whose close is at or
 * before now is played through its close, in order; then, when a session is in progress (now at or
 * after its open, before its close), its open phase. So the account always reflects what a real
 * broker would show at that moment: during a session, the fills at its open and the marks at its
 * open. A new account starts at the last session closed before its creation and never replays
 * older history. Accounts saved before sessions had two phases are closed through their
 * `processedThrough` (engine `lastPlayedPhase`).
 *
 * Submissions: an order submitted before a session's open (or at/after a close) is eligible from
 * the next session to open, at its open; one submitted while a session is in progress is eligible
 * on that session's bar but not at its open (engine rules for orders submitted during a session).
 *
 * State is loaded and saved through a PaperAccountStore on every call (file locally, DynamoDB in
 * AWS), with optimistic versioning, so separate processes or Lambdas see one account.
 */
import { validateBarRows, barOn, type Bar, type ValidatedBars } from '../../../core/bars';
import { newYorkDate, TradingCalendar, type Session } from '../../../core/calendar';
import type {
  BrokerAccount,
  BrokerExecution,
  BrokerOrder,
  BrokerPort,
  BrokerPosition,
  CalendarPort,
  Clock,
  MarketDataPort,
  SubmitOrderRequest,
} from '../../../ports';
import { BrokerError } from '../../../ports';
import { isOpenStatus } from '../../../core/order-status';
import type { StrategyConfig } from '../../../core/config';
import { Dec } from '../../../core/money';
import {
  accountOf,
  cancelOrder,
  executionsOf,
  fillAtLimitNow,
  NO_COSTS,
  type PaperCosts,
  lastPlayedPhase,
  newPaperState,
  positionsOf,
  processSession,
  processSessionOpen,
  sessionInProgress,
  submitOrder,
  toBrokerOrder,
  type PaperState,
} from './engine';

/** Persistence for the one paper account. */
export interface PaperAccountStore {
  /** @returns the state and its version, or undefined when no account exists yet. */
  load(): Promise<{ state: PaperState; version: number } | undefined>;
  /**
   * Saves the state if the stored version still equals `expectedVersion` (undefined: must not exist).
   * @returns the new version.
   * @throws Error when another writer got there first.
   */
  save(state: PaperState, expectedVersion: number | undefined): Promise<number>;
}

export interface PaperBrokerOptions {
  store: PaperAccountStore;
  marketData: MarketDataPort;
  calendar: CalendarPort;
  clock: Clock;
  /** Starting cash for a new account, USD. Default 100000. */
  initialCash?: string;
  /** Commission and slippage applied to every fill (engine.ts module doc). Default none. */
  costs?: PaperCosts;
  accountId?: string;
}

/** The paper broker's costs from the strategy config (`commissionPerShare` USD, `slippageBps`). */
export function paperCostsOf(config: Pick<StrategyConfig, 'commissionPerShare' | 'slippageBps'>): PaperCosts {
  return { commissionPerShare: new Dec(config.commissionPerShare).toString(), slippageBps: config.slippageBps };
}

export class PaperBroker implements BrokerPort {
  private readonly validated = new Map<string, ValidatedBars | null>();
  private calendarPromise: Promise<TradingCalendar> | undefined;
  private symbolsPromise: Promise<Set<string>> | undefined;

  constructor(private readonly options: PaperBrokerOptions) {}

  private get costs(): PaperCosts {
    return this.options.costs ?? NO_COSTS;
  }

  /** Last session whose bar has been played through its close, or null (no account or nothing processed yet). */
  async processedThrough(): Promise<string | null> {
    const loaded = await this.options.store.load();
    return loaded?.state.processedThrough ?? null;
  }

  async getAccount(): Promise<BrokerAccount> {
    return this.read((state) => accountOf(state));
  }

  async listPositions(): Promise<BrokerPosition[]> {
    return this.read((state) => positionsOf(state));
  }

  async listOrders(filter: { status: 'open' | 'closed' | 'all' }): Promise<BrokerOrder[]> {
    const matches = (status: PaperState['orders'][number]['status']) =>
      filter.status === 'all' || (filter.status === 'open') === isOpenStatus(status);
    return this.read((state) => {
      const byId = new Map(state.orders.map((o) => [o.id, o]));
      // A leg is listed under its parent when the parent matches too, else on its own (e.g. the
      // live stop-loss of a filled entry), so no order appears twice.
      return state.orders
        .filter((o) => matches(o.status))
        .filter((o) => o.parentId === null || !matches(byId.get(o.parentId)!.status))
        .reverse()
        .map((o) => toBrokerOrder(state, o));
    });
  }

  async getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | undefined> {
    return this.read((state) => {
      const order = state.orders.find((o) => o.clientOrderId === clientOrderId);
      return order ? toBrokerOrder(state, order) : undefined;
    });
  }

  async getOrder(brokerOrderId: string): Promise<BrokerOrder> {
    return this.read((state) => {
      const order = state.orders.find((o) => o.id === brokerOrderId);
      if (!order) throw new BrokerError(404, 'order not found');
      return toBrokerOrder(state, order);
    });
  }

  async submitOrder(request: SubmitOrderRequest): Promise<BrokerOrder> {
    const calendar = await this.calendar();
    const symbols = await this.symbols();
    return this.write(async (state) => {
      const now = this.options.clock.now();
      const eligibility = eligibilityAt(calendar, now);
      const { state: next, order } = submitOrder(state, request, {
        now: now.toISOString(),
        eligibleFrom: eligibility?.session.date,
        eligibleAtOpen: eligibility?.atOpen ?? true,
        marketOpen: calendar.covers(newYorkDate(now)) && calendar.sessionAt(now) !== undefined,
        // Listed and readable: a symbol whose bars cannot be loaded could never fill.
        knownSymbol: symbols.has(request.symbol) && (await this.hasBars(request.symbol)),
        referencePrice: await this.referencePrice(request.symbol, state),
      });
      return { state: next, result: toBrokerOrder(next, order) };
    });
  }

  async cancelOrder(brokerOrderId: string): Promise<void> {
    await this.write(async (state) => ({
      state: cancelOrder(state, brokerOrderId, this.options.clock.now().toISOString()),
      result: undefined,
    }));
  }

  async listExecutions(filter: { after?: string }): Promise<BrokerExecution[]> {
    return this.read((state) => executionsOf(state, filter.after));
  }

  /**
   * Fault-injection hook: an open, still unfilled limit order fills completely, now, at its limit
   * price (a fill landing while a cancel is in flight). A real fill: cash, position, executions and
   * the order's stop legs move as for any fill (see `fillAtLimitNow` in engine.ts).
   * @returns the filled order, or undefined (nothing changed) when the order is unknown, not an open
   *   unfilled limit order, the fill cannot be honoured, or `now` is before the calendar's first session.
   */
  async fillOpenOrderAtLimit(brokerOrderId: string): Promise<BrokerOrder | undefined> {
    const calendar = await this.calendar();
    return this.write(async (state) => {
      const now = this.options.clock.now();
      const inProgress = calendar.covers(newYorkDate(now)) ? calendar.sessionAt(now) : undefined;
      const session = inProgress ?? lastClosedSessionAt(calendar, now);
      if (!session) return { state, result: undefined };
      const filled = fillAtLimitNow(state, brokerOrderId, {
        now: now.toISOString(),
        session,
        legsEligibleFrom: firstSessionOpeningAtOrAfter(calendar, now)?.date,
      }, this.costs);
      return filled ? { state: filled.state, result: toBrokerOrder(filled.state, filled.order) } : { state, result: undefined };
    });
  }

  // -------------------------------------------------------------------------------------------

  private async read<T>(fn: (state: PaperState) => T): Promise<T> {
    return this.write(async (state) => ({ state, result: fn(state) }));
  }

  /** Load → catch up to now → apply → save (only when something changed). */
  private async write<T>(fn: (state: PaperState) => Promise<{ state: PaperState; result: T }>): Promise<T> {
    const loaded = await this.options.store.load();
    const start = loaded?.state ?? (await this.newAccount());
    const caughtUp = await this.catchUp(start);
    const { state, result } = await fn(caughtUp);
    if (!loaded || state !== start) await this.options.store.save(state, loaded?.version);
    return result;
  }

  private async newAccount(): Promise<PaperState> {
    const calendar = await this.calendar();
    const now = this.options.clock.now();
    return newPaperState(
      this.options.accountId ?? 'paper',
      this.options.initialCash ?? '100000',
      now.toISOString(),
      lastClosedSessionAt(calendar, now)?.date ?? null,
    );
  }

  private async catchUp(state: PaperState): Promise<PaperState> {
    const calendar = await this.calendar();
    const now = this.options.clock.now();
    let next = state;
    const lastClosed = lastClosedSessionAt(calendar, now);
    if (lastClosed && (next.processedThrough === null || lastClosed.date > next.processedThrough)) {
      // From the session in progress (open phase played), else the one after the last closed.
      const from = sessionInProgress(next) ?? (next.processedThrough === null ? calendar.first.date : calendar.nextSession(next.processedThrough)?.date);
      if (from && from <= lastClosed.date) {
        for (const session of calendar.sessionsBetween(from, lastClosed.date)) {
          next = processSession(next, session, await this.barsFor(next, session), this.costs);
        }
      }
    }
    const open = sessionOpenAt(calendar, now);
    if (open && (next.processedThrough === null || open.date > next.processedThrough) && sessionInProgress(next) !== open.date) {
      next = processSessionOpen(next, open, await this.barsFor(next, open), this.costs);
    }
    return next;
  }

  /** The bars of `session` for every symbol the account has an open order or a position in. */
  private async barsFor(state: PaperState, session: Session): Promise<(symbol: string) => Bar | undefined> {
    const symbols = new Set([...state.orders.filter((o) => isOpenStatus(o.status)).map((o) => o.symbol), ...Object.keys(state.positions)]);
    const bars = new Map<string, Bar | undefined>();
    for (const symbol of symbols) bars.set(symbol, await this.bar(symbol, session));
    return (symbol) => bars.get(symbol);
  }

  private async hasBars(symbol: string): Promise<boolean> {
    await this.load(symbol);
    return (this.validated.get(symbol)?.bars.length ?? 0) > 0;
  }

  private async load(symbol: string): Promise<void> {
    if (!this.validated.has(symbol)) {
      try {
        this.validated.set(symbol, validateBarRows(await this.options.marketData.loadDailyRows(symbol)));
      } catch {
        this.validated.set(symbol, null); // no data: orders in this symbol simply never fill
      }
    }
  }

  private async bar(symbol: string, session: Session): Promise<Bar | undefined> {
    await this.load(symbol);
    const validated = this.validated.get(symbol);
    return validated ? barOn(validated, session.date) : undefined;
  }

  /**
   * Latest known price, USD (for market-order reservations): the mark of a position, else the open
   * of the session in progress, else the latest close at or before the last processed session.
   */
  private async referencePrice(symbol: string, state: PaperState): Promise<string | undefined> {
    const held = state.positions[symbol]?.lastPrice;
    if (held) return held;
    const played = lastPlayedPhase(state);
    if (played?.phase === 'open') {
      await this.load(symbol);
      const validated = this.validated.get(symbol);
      const bar = validated ? barOn(validated, played.session) : undefined;
      if (bar) return String(bar.open);
    }
    if (state.processedThrough === null) return undefined;
    await this.load(symbol);
    const validated = this.validated.get(symbol);
    if (!validated) return undefined;
    const before = validated.bars.filter((b) => b.date <= state.processedThrough!);
    const last = before[before.length - 1];
    return last ? String(last.close) : undefined;
  }

  private calendar(): Promise<TradingCalendar> {
    this.calendarPromise ??= this.options.calendar.loadSessions().then((s) => new TradingCalendar(s));
    return this.calendarPromise;
  }

  private symbols(): Promise<Set<string>> {
    this.symbolsPromise ??= this.options.marketData.listSymbols().then((s) => new Set(s));
    return this.symbolsPromise;
  }
}

/** The session an order submitted at `now` can first trade in: today's if it has not opened yet, else the next. */
export function firstSessionOpeningAtOrAfter(calendar: TradingCalendar, now: Date): Session | undefined {
  const date = newYorkDate(now);
  if (date > calendar.last.date) return undefined; // beyond the calendar: no session is known
  if (date < calendar.first.date) return calendar.first;
  const today = calendar.isSession(date) ? calendar.session(date) : undefined;
  if (today && Date.parse(today.openUtc) >= now.getTime()) return today;
  return calendar.nextSession(date);
}

/**
 * Where an order submitted at `now` is eligible: while a session is in progress (its open ≤ now <
 * its close), that session's bar but not its open (`atOpen` false: the open has passed); else the
 * first session opening at or after `now`, at its open. Undefined when no such session is known.
 */
export function eligibilityAt(calendar: TradingCalendar, now: Date): { session: Session; atOpen: boolean } | undefined {
  const open = sessionOpenAt(calendar, now);
  if (open) return { session: open, atOpen: false };
  const next = firstSessionOpeningAtOrAfter(calendar, now);
  return next ? { session: next, atOpen: true } : undefined;
}

/** The session in progress at `now` (its open ≤ now < its close), or undefined (also outside the calendar). */
function sessionOpenAt(calendar: TradingCalendar, now: Date): Session | undefined {
  if (!calendar.covers(newYorkDate(now))) return undefined;
  const session = calendar.sessionAt(now);
  return session && now.getTime() < Date.parse(session.closeUtc) ? session : undefined;
}

/**
 * The latest session closed at `now`, also past the calendar's end (then its last session, since
 * every known session has closed) and before its start (none).
 */
function lastClosedSessionAt(calendar: TradingCalendar, now: Date): Session | undefined {
  const date = newYorkDate(now);
  if (date > calendar.last.date) return calendar.last;
  if (date < calendar.first.date) return undefined;
  return calendar.lastClosedSessionAt(now);
}
