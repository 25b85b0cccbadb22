/**
 * The risk kernel: one pure function that decides every proposed order of a run, and the account's
 * trading state, against every limit of the strategy config.
 *
 * Pure: plain data in, plain data out; `now` is passed in. Handlers gather the inputs
 * (handlers/risk-check.ts) and carry out the actions (latch, day lock, flatten, alerts).
 *
 * Every decision carries `allowed`, the `rule` that decided it and a `reason` of the form
 * `RULE_CODE: detail with values`, e.g. `MAX_POSITION_PCT: AAPL 1 sh = 12.4% NAV > 10.0%`. Each code
 * is produced by one rule block in this file, so a reason found in a report leads to its rule by
 * searching this file for `RULE_CODE:` or `'RULE_CODE'`.
 *
 * States: risk-reducing orders (exits, stop-losses, flatten) are ALWAYS allowed (capped at the
 * position so an exit never opens a short). REDUCING blocks anything that adds exposure; HALTED
 * blocks every new entry. An entry is checked in this order, the first refusal wins:
 *
 *   account   KILL_SWITCH, TRADING_HALTED (latch), MAX_DRAWDOWN, DAY_LOCKED, DAILY_LOSS_LIMIT,
 *             LOSS_STREAK, COOLING_OFF, MARKET_CLOSED, OUTSIDE_TRADE_WINDOW, SHARPE_GATE,
 *             ULCER_GATE, REGIME_FILTER, MAX_TRADES_PER_DAY
 *   invariant LONG_ONLY, FORBID_REVERSE_WITHOUT_FLAT, ONE_POSITION_PER_SYMBOL, FORBID_ADD_TO_LOSER
 *   data      STALE_DATA
 *   exposure  MAX_OPEN_POSITIONS, then sizing: RISK_BUDGET, MAX_POSITION_PCT, CASH_BUFFER,
 *             MAX_ORDER_NOTIONAL, MAX_GROSS_EXPOSURE, CATEGORY_CONCENTRATION (each cuts the
 *             quantity; one that leaves < 1 share refuses), MIN_NOTIONAL
 *   sanity    PRICE_DEVIATION, LIQUIDITY, FAT_FINGER
 *
 * Size reductions multiply (each rung × reducedSizeFactor, default 0.5): DAILY_LOSS_SOFT,
 * LOSS_STREAK (reduce rung), DRAWDOWN_REDUCE, SHARPE_GATE (reduce rung).
 *
 * Thresholds and their sources: the trading spec of issue #4 (defaults in core/config.ts);
 * Sharpe (Sharpe 1994, √252), Ulcer index (Martin 1987), ATR (Wilder 1978) in core/risk/metrics.ts
 * and core/indicators.ts.
 */
import type { OrderSide, OrderType } from '../../ports';
import type { StrategyConfig } from '../config';
import {
  effectiveTradingState,
  type EffectiveTradingState,
  type KillSwitchStatus,
  type PersistedTradingState,
} from '../kill-switch';
import { Dec, dec, formatPct, formatUsd } from '../money';
import { planLongEntry, type EntryPlan, type NotionalCap } from '../sizing';
import { consecutiveLosses, type ClosedTrade } from '../trades';
import { median, regimeFilter, rollingSharpe, ulcerIndex } from './metrics';
import { categoryOf } from './sectors';

/** Broker state the decisions are made against, frozen per session (see handlers/risk-check). */
export interface AccountSnapshot {
  /** ISO-8601 UTC when the snapshot was read from the broker. */
  asOf: string;
  /** USD. */
  cash: string;
  /** NAV, USD. */
  equity: string;
  /** qty in shares (negative = short), prices in USD per share. */
  positions: Array<{ symbol: string; qty: string; avgEntryPrice: string; lastPrice: string }>;
  /** Orders not in a terminal status. qty/filledQty in shares, limitPrice USD or null. */
  openOrders: Array<{
    clientOrderId: string;
    symbol: string;
    side: OrderSide;
    type: OrderType;
    qty: string;
    filledQty: string;
    limitPrice: string | null;
  }>;
}

/** A new position the strategy would like to open. The kernel sizes it (or caps `qty` if given). */
export interface EntryIntent {
  kind: 'entry';
  symbol: string;
  /** `buy` opens a long; `sell` would open a short (refused when longOnly). */
  side: OrderSide;
  rank: number;
  score: number;
  /** A quantity the strategy proposes, shares; absent → sized from riskPerTrade. */
  qty?: string;
}

/** A risk-reducing order: closes (part of) a position. Always allowed, capped at the position. */
export interface ExitIntent {
  kind: 'exit';
  symbol: string;
  side: OrderSide;
  /** Shares to close. */
  qty: string;
  purpose: 'stop_loss' | 'take_profit' | 'flatten' | 'rebalance';
  /** Why the exit is wanted (e.g. the flatten's cause). */
  cause: string;
}

export type RiskIntent = EntryIntent | ExitIntent;

/** What the kernel knows about one symbol's market, from the decision window's bars. */
export interface MarketInfo {
  /** Last close before the session, USD per share. */
  lastClose: number;
  /** Date (YYYY-MM-DD) of that close. */
  lastBarDate: string;
  /** ATR(14, Wilder) at that close, USD per share. */
  atr14: number;
  /** 20-session average daily volume, shares; null when unknown (LIQUIDITY then refuses). */
  adv20: number | null;
  /** A live price (quote or the session's open mark), USD per share, when known. */
  quote?: number;
}

/** The session being traded, New York sessions with UTC instants. */
export interface SessionInfo {
  date: string;
  openUtc: string;
  /** Early closes are already in here (13:00 New York). */
  closeUtc: string;
}

/** A lock on new entries for the rest of one session (DAILY_LOSS_LIMIT, LOSS_STREAK, FLATTENED). */
export interface DayLock {
  /** Session date, YYYY-MM-DD. */
  date: string;
  /** `RULE: detail`. */
  cause: string;
  /** ISO-8601 UTC. */
  since: string;
}

/** Memory the kernel carries from run to run (persisted by the handler). Money in USD strings. */
export interface RiskMemory {
  /** Highest equity seen since the account started or since the last re-arm after a MAX_DRAWDOWN halt. */
  highWaterMark: string;
  /** ISO-8601 UTC of that high. */
  highWaterMarkAt: string;
  /** Equity the doubling milestones are measured from. */
  milestoneBaseline: string;
  /** Highest n for which equity reached 2^n × baseline and was alerted (0 = none yet). Never decreases. */
  milestoneLevel: number;
  /** Worst drawdown rung alerted since equity was last at its high: none, reduce (−10%) or halt (−20%). */
  drawdownRung: 'none' | 'reduce' | 'halt';
}

/** Trading history the ladders and gates read. */
export interface RiskHistory {
  /** Equity at the start of the session (the previous session's close), USD. */
  sessionStartEquity: string;
  /** End-of-session equity of past sessions, oldest first, USD (metric gates). */
  equityCurve: readonly number[];
  /** Closed round trips, oldest first (loss streak). */
  closedTrades: readonly ClosedTrade[];
  /** Entry orders already sent for this session by other runs. */
  entriesToday: number;
  /** Notionals of recent entry orders, USD (fat-finger median). */
  recentEntryNotionals: readonly string[];
  /** ISO-8601 UTC of the previous session's open: the loss streak counts trades closed since then. */
  streakSince: string;
}

/** Everything the kernel decides on. */
export interface RiskInput {
  /** ISO-8601 UTC. */
  now: string;
  /** Today's session, or null when today is not a trading day (holiday, weekend). */
  session: SessionInfo | null;
  /** Dates of the most recent sessions BEFORE today, ascending (at least maxDataAgeSessions of them). */
  priorSessions: readonly string[];
  killSwitch: KillSwitchStatus;
  latch: PersistedTradingState;
  /** Today's day lock, if an earlier run set one. */
  dayLock: DayLock | null;
  account: AccountSnapshot;
  /** Entries best first; exits in any order. */
  intents: readonly RiskIntent[];
  market: Readonly<Record<string, MarketInfo>>;
  /** Benchmark closes for the regime filter, oldest first, or null when the benchmark has no usable bars. */
  benchmark: { symbol: string; closes: readonly number[]; lastBarDate: string } | null;
  history: RiskHistory;
  /** Previous memory, or null for a new account. */
  memory: RiskMemory | null;
  limits: StrategyConfig;
}

export type RiskRule =
  | 'KILL_SWITCH'
  | 'TRADING_HALTED'
  | 'MAX_DRAWDOWN'
  | 'DAY_LOCKED'
  | 'DAILY_LOSS_LIMIT'
  | 'LOSS_STREAK'
  | 'COOLING_OFF'
  | 'MARKET_CLOSED'
  | 'OUTSIDE_TRADE_WINDOW'
  | 'SHARPE_GATE'
  | 'ULCER_GATE'
  | 'REGIME_FILTER'
  | 'MAX_TRADES_PER_DAY'
  | 'LONG_ONLY'
  | 'FORBID_REVERSE_WITHOUT_FLAT'
  | 'ONE_POSITION_PER_SYMBOL'
  | 'FORBID_ADD_TO_LOSER'
  | 'STALE_DATA'
  | 'MAX_OPEN_POSITIONS'
  | 'RISK_BUDGET'
  | 'MAX_POSITION_PCT'
  | 'CASH_BUFFER'
  | 'MAX_ORDER_NOTIONAL'
  | 'MAX_GROSS_EXPOSURE'
  | 'CATEGORY_CONCENTRATION'
  | 'MIN_NOTIONAL'
  | 'PRICE_DEVIATION'
  | 'LIQUIDITY'
  | 'FAT_FINGER'
  | 'OK'
  | 'EXIT'
  | 'NO_NAKED_SHORT'
  | 'NO_POSITION';

/** One decided intent. */
export interface RiskDecision {
  symbol: string;
  kind: 'entry' | 'exit';
  side: OrderSide;
  /** Alpaca position intent of the order. */
  action: 'buy_to_open' | 'sell_to_open' | 'sell_to_close' | 'buy_to_close';
  allowed: boolean;
  rule: RiskRule;
  /** `RULE: detail`. */
  reason: string;
  /** Final quantity, shares, when allowed. */
  qty: string | null;
  /** Set when the kernel cut a proposed quantity (an entry's `qty`, or an exit larger than the position). */
  adjustedQty?: string;
  /** Entries: rank and score from predict. */
  rank?: number;
  score?: number;
  /** Entries: the sized order (present whenever sizing ran). */
  plan?: EntryPlan;
  /** Exits: why the exit exists. */
  purpose?: ExitIntent['purpose'];
}

/** One account-level limit as evaluated this run (all appear in the report, fired or not). */
export interface LimitReading {
  rule: string;
  /** ok: inside; reduce: size cut; block: no entries; halt: trading state HALTED; n/a: not enough data. */
  status: 'ok' | 'reduce' | 'block' | 'halt' | 'n/a';
  detail: string;
}

/** Something the handler must do because of a decision. */
export interface RiskActions {
  /** Cancel every open order, then close every position (exit decisions are included). */
  flatten: { cause: string } | null;
  /** A latch to persist (e.g. MAX_DRAWDOWN → HALTED until re-armed). */
  latch: PersistedTradingState | null;
  /** A day lock to persist for this session. */
  dayLock: DayLock | null;
  alerts: Array<{ severity: 'INFO' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL'; type: string; message: string }>;
}

/** The kernel's measurements, for the report. Fractions are signed (−0.02 = a 2% loss). */
export interface RiskMetrics {
  equity: string;
  sessionStartEquity: string;
  dailyPnlFraction: number;
  highWaterMark: string;
  drawdownFraction: number;
  rollingSharpe: number | null;
  ulcerIndex: number | null;
  lossStreak: number;
  entriesToday: number;
  regime: ReturnType<typeof regimeFilter> | null;
}

export interface RiskResult {
  tradingState: EffectiveTradingState;
  decisions: RiskDecision[];
  /** Product of the size reductions in force (1 = full size). */
  sizeMultiplier: number;
  /** Every account-level limit with its status this run. */
  readings: LimitReading[];
  actions: RiskActions;
  memory: RiskMemory;
  metrics: RiskMetrics;
  /** Cash already committed to open buy orders at the start, USD. */
  reservedCash: string;
}

const pct = (fraction: number | Dec, decimals = 2) => formatPct(fraction instanceof Dec ? fraction : dec(fraction), decimals);

/**
 * Decides every intent and the account's trading state (see module doc).
 * @throws Error naming the field when the snapshot's money fields are not decimals, or equity ≤ 0.
 */
export function decideRisk(input: RiskInput): RiskResult {
  const { limits: L, account, history, now } = input;
  const equity = dec(account.equity, 'account.equity');
  if (equity.lte(0)) throw new Error(`account.equity must be > 0, got ${account.equity}`);
  const nowMs = Date.parse(now);
  if (Number.isNaN(nowMs)) throw new Error(`now must be an ISO-8601 instant, got ${JSON.stringify(now)}`);
  const f = L.reducedSizeFactor;
  const readings: LimitReading[] = [];
  const actions: RiskActions = { flatten: null, latch: null, dayLock: null, alerts: [] };
  const factors: string[] = [];

  // ---- memory: high-water mark and milestones ---------------------------------------------
  const prev = input.memory;
  const hwmBefore = prev ? dec(prev.highWaterMark, 'memory.highWaterMark') : equity;
  const newHigh = equity.gt(hwmBefore);
  const memory: RiskMemory = {
    highWaterMark: (newHigh ? equity : hwmBefore).toString(),
    highWaterMarkAt: newHigh || !prev ? now : prev.highWaterMarkAt,
    milestoneBaseline: prev?.milestoneBaseline ?? String(L.milestoneBaseline ?? equity.toString()),
    milestoneLevel: prev?.milestoneLevel ?? 0,
    drawdownRung: newHigh ? 'none' : (prev?.drawdownRung ?? 'none'),
  };
  const baseline = dec(memory.milestoneBaseline);
  const level = Math.floor(Math.log2(equity.div(baseline).toNumber()));
  if (level > memory.milestoneLevel) {
    actions.alerts.push({
      severity: 'INFO',
      type: 'EQUITY_MILESTONE',
      message: `EQUITY_MILESTONE: equity ${formatUsd(equity)} USD reached ${2 ** level} x the baseline ${formatUsd(baseline)} USD`,
    });
    memory.milestoneLevel = level;
  }

  // ---- account-level rules ------------------------------------------------------------------
  type Block = { rule: RiskRule; reason: string };
  const blocks: Block[] = [];
  let state = effectiveTradingState(input.killSwitch, input.latch);
  const halt = (cause: string) => {
    if (state.state !== 'HALTED') state = { state: 'HALTED', cause };
  };

  if (input.killSwitch.state !== 'ARMED') {
    blocks.push({ rule: 'KILL_SWITCH', reason: `KILL_SWITCH: ${input.killSwitch.reason}; new entries need ARMED` });
  }
  if (input.latch.state !== 'ACTIVE') {
    const what = input.latch.state === 'HALTED' ? '' : 'latch REDUCING (exits only): ';
    blocks.push({ rule: 'TRADING_HALTED', reason: `TRADING_HALTED: ${what}${input.latch.cause} (since ${input.latch.since}); re-arm the kill switch to resume` });
  }

  // Drawdown ladder, from the high-water mark.
  const hwm = dec(memory.highWaterMark);
  // Compared in decimals: 80000 / 100000 - 1 is exactly -0.2 (in floats it is -0.19999999999999996).
  const drawdownDec = Dec.min(0, equity.div(hwm).minus(1));
  const drawdown = drawdownDec.toNumber();
  const ddText = `equity ${formatUsd(equity)} USD is ${pct(-drawdown)} below the high-water mark ${formatUsd(hwm)} USD`;
  if (drawdownDec.lte(-L.drawdownHaltFraction)) {
    const cause = `MAX_DRAWDOWN: ${ddText} (limit ${pct(L.drawdownHaltFraction, 1)}); flattened, HALTED until the kill switch is re-armed`;
    readings.push({ rule: 'MAX_DRAWDOWN', status: 'halt', detail: cause });
    blocks.push({ rule: 'MAX_DRAWDOWN', reason: cause });
    if (input.latch.state !== 'HALTED' || !input.latch.cause.startsWith('MAX_DRAWDOWN')) {
      actions.latch = { state: 'HALTED', cause, since: now };
      actions.flatten = { cause };
    }
    if (memory.drawdownRung !== 'halt') {
      actions.alerts.push({ severity: 'CRITICAL', type: 'MAX_DRAWDOWN', message: cause });
      memory.drawdownRung = 'halt';
    }
    halt(cause);
  } else if (drawdownDec.lte(-L.drawdownReduceFraction)) {
    const detail = `DRAWDOWN_REDUCE: ${ddText} (limit ${pct(L.drawdownReduceFraction, 1)}); size x ${f}`;
    readings.push({ rule: 'DRAWDOWN_REDUCE', status: 'reduce', detail });
    factors.push(detail);
    if (memory.drawdownRung === 'none') {
      actions.alerts.push({ severity: 'HIGH', type: 'DRAWDOWN', message: detail });
      memory.drawdownRung = 'reduce';
    }
  } else {
    readings.push({ rule: 'MAX_DRAWDOWN', status: 'ok', detail: `drawdown ${pct(drawdown)} (reduce at -${pct(L.drawdownReduceFraction, 1)}, halt at -${pct(L.drawdownHaltFraction, 1)})` });
  }
  // A MAX_DRAWDOWN halt means flat: while it is latched, any position still open (a closing order
  // that was refused, a cancel that could not be confirmed) is flattened again on every run.
  const stillOpen = account.positions.filter((p) => !dec(p.qty).isZero()).map((p) => p.symbol);
  if (!actions.flatten && input.latch.state === 'HALTED' && input.latch.cause.startsWith('MAX_DRAWDOWN') && stillOpen.length > 0) {
    actions.flatten = { cause: `MAX_DRAWDOWN: completing the flatten latched at ${input.latch.since}; still open: ${stillOpen.join(', ')}` };
  }

  // Day lock set earlier today (a flattened day cannot reopen; a locked day stays locked).
  const today = input.session?.date;
  if (input.dayLock && input.dayLock.date === today) {
    blocks.push({ rule: 'DAY_LOCKED', reason: `DAY_LOCKED: ${input.dayLock.cause} (since ${input.dayLock.since}); entries resume next session` });
    halt(input.dayLock.cause);
  }

  // Daily loss ladder, from the session's starting equity.
  const start = dec(history.sessionStartEquity, 'history.sessionStartEquity');
  const daily = assessDailyLoss(start, equity, L);
  const dayPnl = daily.fraction;
  const dayText = daily.text;
  if (daily.rung === 'hard') {
    const cause = `DAILY_LOSS_LIMIT: ${dayText} <= -${pct(L.dailyLossHardFraction)}; day locked (HALTED until the next session)`;
    readings.push({ rule: 'DAILY_LOSS_LIMIT', status: 'halt', detail: cause });
    blocks.push({ rule: 'DAILY_LOSS_LIMIT', reason: cause });
    if (!(input.dayLock && input.dayLock.date === today) && today) {
      actions.dayLock = { date: today, cause, since: now };
      actions.alerts.push({ severity: 'CRITICAL', type: 'DAILY_LOSS_LIMIT', message: cause });
    }
    halt(cause);
  } else if (daily.rung === 'soft') {
    const detail = `DAILY_LOSS_SOFT: ${dayText} <= -${pct(L.dailyLossSoftFraction)}; size x ${f}`;
    readings.push({ rule: 'DAILY_LOSS_SOFT', status: 'reduce', detail });
    factors.push(detail);
  } else {
    readings.push({ rule: 'DAILY_LOSS_LIMIT', status: 'ok', detail: `${dayText} (soft -${pct(L.dailyLossSoftFraction)}, hard -${pct(L.dailyLossHardFraction)})` });
  }
  if (daily.beyondHalfLimit) {
    actions.alerts.push({ severity: 'HIGH', type: 'DAILY_LOSS', message: `DAILY_LOSS: ${dayText} is beyond half the -${pct(L.dailyLossHardFraction)} limit` });
  }

  // Loss streak over the trades closed since the previous session opened.
  const streakSinceMs = Date.parse(history.streakSince);
  const recentTrades = history.closedTrades.filter((t) => Date.parse(t.exitAt) >= streakSinceMs);
  const streak = consecutiveLosses(recentTrades);
  if (streak >= L.lossStreakStopAt) {
    const cause = `LOSS_STREAK: ${streak} consecutive losing trades since ${history.streakSince} >= ${L.lossStreakStopAt}; no more entries today`;
    readings.push({ rule: 'LOSS_STREAK', status: 'block', detail: cause });
    blocks.push({ rule: 'LOSS_STREAK', reason: cause });
    if (!actions.dayLock && !(input.dayLock && input.dayLock.date === today) && today) {
      actions.dayLock = { date: today, cause, since: now };
      actions.alerts.push({ severity: 'HIGH', type: 'LOSS_STREAK', message: cause });
    }
  } else if (streak >= L.lossStreakReduceAt) {
    const detail = `LOSS_STREAK: ${streak} consecutive losing trades since ${history.streakSince} >= ${L.lossStreakReduceAt}; size x ${f}`;
    readings.push({ rule: 'LOSS_STREAK', status: 'reduce', detail });
    factors.push(detail);
  } else {
    readings.push({ rule: 'LOSS_STREAK', status: 'ok', detail: `${streak} consecutive losing trades (reduce at ${L.lossStreakReduceAt}, stop at ${L.lossStreakStopAt})` });
  }

  // Cooling-off after the kill switch changed.
  if (input.killSwitch.lastModified && L.coolingOffMinutes > 0) {
    const changedMs = Date.parse(input.killSwitch.lastModified);
    const endsMs = changedMs + L.coolingOffMinutes * 60_000;
    if (nowMs < endsMs) {
      const reason = `COOLING_OFF: kill switch changed at ${input.killSwitch.lastModified}; no automatic entry for ${L.coolingOffMinutes} min (until ${new Date(endsMs).toISOString()})`;
      readings.push({ rule: 'COOLING_OFF', status: 'block', detail: reason });
      blocks.push({ rule: 'COOLING_OFF', reason });
    } else {
      readings.push({ rule: 'COOLING_OFF', status: 'ok', detail: `kill switch last changed ${input.killSwitch.lastModified}` });
    }
  }

  // Market calendar and trade window.
  if (!input.session) {
    const reason = `MARKET_CLOSED: ${now} is not on a trading session (holiday or weekend)`;
    readings.push({ rule: 'MARKET_CLOSED', status: 'block', detail: reason });
    blocks.push({ rule: 'MARKET_CLOSED', reason });
  } else {
    const opensMs = Date.parse(input.session.openUtc) + L.tradeWindowOpenDelayMinutes * 60_000;
    const closesMs = Date.parse(input.session.closeUtc) - L.tradeWindowCloseLeadMinutes * 60_000;
    const window = `${new Date(opensMs).toISOString()}..${new Date(closesMs).toISOString()}`;
    if (nowMs < opensMs || nowMs > closesMs) {
      const reason = `OUTSIDE_TRADE_WINDOW: ${now} is outside the ${input.session.date} entry window ${window} (open +${L.tradeWindowOpenDelayMinutes} min, close -${L.tradeWindowCloseLeadMinutes} min)`;
      readings.push({ rule: 'OUTSIDE_TRADE_WINDOW', status: 'block', detail: reason });
      blocks.push({ rule: 'OUTSIDE_TRADE_WINDOW', reason });
    } else {
      readings.push({ rule: 'OUTSIDE_TRADE_WINDOW', status: 'ok', detail: `inside ${window}` });
    }
  }

  // Metric gates over the equity curve (plus today's equity).
  const curve = [...history.equityCurve, equity.toNumber()];
  const sharpe = rollingSharpe(curve, L.metricLookbackSessions);
  if (sharpe === null) {
    readings.push({ rule: 'SHARPE_GATE', status: 'n/a', detail: `needs ${L.metricLookbackSessions + 1} equity points, has ${curve.length}` });
  } else if (sharpe <= L.sharpeStopAtOrBelow) {
    const reason = `SHARPE_GATE: rolling ${L.metricLookbackSessions}-session Sharpe ${sharpe.toFixed(2)} <= ${L.sharpeStopAtOrBelow}; no new entries`;
    readings.push({ rule: 'SHARPE_GATE', status: 'block', detail: reason });
    blocks.push({ rule: 'SHARPE_GATE', reason });
  } else if (sharpe < L.sharpeReduceBelow) {
    const detail = `SHARPE_GATE: rolling ${L.metricLookbackSessions}-session Sharpe ${sharpe.toFixed(2)} < ${L.sharpeReduceBelow}; size x ${f}`;
    readings.push({ rule: 'SHARPE_GATE', status: 'reduce', detail });
    factors.push(detail);
  } else {
    readings.push({ rule: 'SHARPE_GATE', status: 'ok', detail: `rolling Sharpe ${sharpe.toFixed(2)}` });
  }
  const ulcer = ulcerIndex(curve, L.metricLookbackSessions);
  if (ulcer === null) {
    readings.push({ rule: 'ULCER_GATE', status: 'n/a', detail: `needs ${L.metricLookbackSessions} equity points, has ${curve.length}` });
  } else if (ulcer > L.maxUlcerIndex) {
    const reason = `ULCER_GATE: Ulcer index ${ulcer.toFixed(2)} > ${L.maxUlcerIndex} over ${L.metricLookbackSessions} sessions; no new entries`;
    readings.push({ rule: 'ULCER_GATE', status: 'block', detail: reason });
    blocks.push({ rule: 'ULCER_GATE', reason });
  } else {
    readings.push({ rule: 'ULCER_GATE', status: 'ok', detail: `Ulcer index ${ulcer.toFixed(2)} <= ${L.maxUlcerIndex}` });
  }

  let regime: RiskMetrics['regime'] = null;
  if (L.regimeFilter) {
    const bm = input.benchmark;
    const fresh = bm !== null && isFresh(bm.lastBarDate, input.priorSessions, L.maxDataAgeSessions);
    regime = bm ? regimeFilter(bm.closes) : null;
    if (!bm || !fresh || !regime || !regime.ok) {
      // Fail closed: a regime that cannot be read is not a regime known to be safe.
      const why = !bm ? `${L.benchmark} has no usable bars` : !fresh ? `${bm.symbol} last bar ${bm.lastBarDate} is stale` : (regime as { reason: string }).reason;
      const reason = `REGIME_FILTER: cannot evaluate (${why}); no new entries`;
      readings.push({ rule: 'REGIME_FILTER', status: 'block', detail: reason });
      blocks.push({ rule: 'REGIME_FILTER', reason });
    } else if (regime.riskOff) {
      const reason = `REGIME_FILTER: ${bm.symbol} ${regime.close.toFixed(2)} < SMA200 ${regime.sma.toFixed(2)} and 21d vol ${pct(regime.vol)} > 1y median ${pct(regime.volMedian)}; no new entries`;
      readings.push({ rule: 'REGIME_FILTER', status: 'block', detail: reason });
      blocks.push({ rule: 'REGIME_FILTER', reason });
    } else {
      readings.push({
        rule: 'REGIME_FILTER',
        status: 'ok',
        detail: `${bm.symbol} ${regime.close.toFixed(2)} vs SMA200 ${regime.sma.toFixed(2)}, 21d vol ${pct(regime.vol)} vs median ${pct(regime.volMedian)}`,
      });
    }
  }

  let sizeMultiplier = 1;
  for (let i = 0; i < factors.length; i++) sizeMultiplier *= f;

  // ---- positions, pending orders, exposure ----------------------------------------------------
  const held = new Map<string, { qty: Dec; avg: Dec; last: Dec }>();
  for (const p of account.positions) {
    const qty = dec(p.qty, `positions.${p.symbol}.qty`);
    if (!qty.isZero()) held.set(p.symbol, { qty, avg: dec(p.avgEntryPrice, `positions.${p.symbol}.avgEntryPrice`), last: dec(p.lastPrice, `positions.${p.symbol}.lastPrice`) });
  }
  const refPrice = (symbol: string): Dec => held.get(symbol)?.last ?? (input.market[symbol] ? dec(input.market[symbol]!.lastClose) : new Dec(0));
  const category = (symbol: string) => categoryOf(symbol, L.categoryMap);
  const categoryValue = new Map<string, Dec>();
  const addCategory = (symbol: string, value: Dec) => categoryValue.set(category(symbol), (categoryValue.get(category(symbol)) ?? new Dec(0)).plus(value));

  let gross = new Dec(0);
  for (const [symbol, p] of held) {
    const value = p.qty.abs().times(p.last);
    gross = gross.plus(value);
    addCategory(symbol, value);
  }
  const pendingBuys = new Set<string>();
  /** Value of open buys and of entries allowed this run, per symbol, USD (counts toward MAX_POSITION_PCT). */
  const pendingValue = new Map<string, Dec>();
  let reserved = new Dec(0);
  for (const o of account.openOrders) {
    if (o.side !== 'buy') continue;
    const remaining = Dec.max(0, dec(o.qty).minus(dec(o.filledQty)));
    // A buy that covers a short reduces exposure; only buys that add count here.
    if ((held.get(o.symbol)?.qty ?? new Dec(0)).lt(0)) continue;
    pendingBuys.add(o.symbol);
    const price = o.limitPrice !== null ? dec(o.limitPrice) : refPrice(o.symbol);
    const value = remaining.times(price);
    reserved = reserved.plus(value);
    gross = gross.plus(value);
    addCategory(o.symbol, value);
    pendingValue.set(o.symbol, (pendingValue.get(o.symbol) ?? new Dec(0)).plus(value));
  }
  const occupied = new Set<string>([...held.keys(), ...pendingBuys]);
  let freeCash = dec(account.cash, 'account.cash').minus(reserved);
  let entriesAllowed = 0;
  const allowedThisRun = new Set<string>();
  const notionals = history.recentEntryNotionals.map((n) => dec(n).toNumber());
  const medianNotional = notionals.length >= L.fatFingerMinHistory ? median(notionals) : null;

  const decisions: RiskDecision[] = [];

  // ---- exits: always allowed, never larger than the position ----------------------------------
  // Exits of one symbol share its position: each is capped at what earlier exits left.
  const remaining = new Map<string, Dec>();
  for (const [symbol, p] of held) remaining.set(symbol, p.qty);
  const decideExitOf = (x: ExitIntent) => {
    const left = remaining.get(x.symbol);
    const decision = decideExit(x, left !== undefined && !left.isZero() ? left : undefined);
    decisions.push(decision);
    if (decision.allowed && decision.qty !== null && left !== undefined) remaining.set(x.symbol, left.minus(dec(decision.qty).times(left.s)));
  };
  for (const x of input.intents) if (x.kind === 'exit') decideExitOf(x);
  if (actions.flatten) {
    // A flatten closes every position whole: whatever the proposed exits leave is closed too.
    for (const [symbol, left] of remaining) {
      if (left.isZero()) continue;
      decideExitOf({ kind: 'exit', symbol, side: left.gt(0) ? 'sell' : 'buy', qty: left.abs().toString(), purpose: 'flatten', cause: actions.flatten.cause });
    }
  }

  // ---- entries ---------------------------------------------------------------------------------
  const maxTradesReading = `${history.entriesToday} entries sent today (limit ${L.maxTradesPerDay})`;
  readings.push({ rule: 'MAX_TRADES_PER_DAY', status: history.entriesToday >= L.maxTradesPerDay ? 'block' : 'ok', detail: maxTradesReading });
  for (const intent of input.intents) {
    if (intent.kind !== 'entry') continue;
    const c = intent;
    const base = {
      symbol: c.symbol,
      kind: 'entry' as const,
      side: c.side,
      action: c.side === 'buy' ? ('buy_to_open' as const) : ('sell_to_open' as const),
      rank: c.rank,
      score: c.score,
      qty: null,
    };
    const refuse = (rule: RiskRule, reason: string, plan?: EntryPlan): void => {
      decisions.push({ ...base, allowed: false, rule, reason, ...(plan ? { plan } : {}) });
    };
    const blocked = blocks[0];
    if (blocked) {
      refuse(blocked.rule, blocked.reason);
      continue;
    }
    if (state.state !== 'ACTIVE') {
      refuse('TRADING_HALTED', `TRADING_HALTED: trading state ${state.state} (${state.cause}); entries need ACTIVE`);
      continue;
    }
    const tradesSoFar = history.entriesToday + entriesAllowed;
    if (tradesSoFar >= L.maxTradesPerDay) {
      refuse('MAX_TRADES_PER_DAY', `MAX_TRADES_PER_DAY: ${tradesSoFar} entries today (${history.entriesToday} sent + ${entriesAllowed} this run) >= limit ${L.maxTradesPerDay}`);
      continue;
    }
    const position = held.get(c.symbol);
    if (c.side === 'sell' && L.longOnly) {
      refuse('LONG_ONLY', `LONG_ONLY: ${c.symbol} sell-to-open would open a short; the strategy is long only`);
      continue;
    }
    const sign = c.side === 'buy' ? 1 : -1;
    if (position && L.forbidReverseWithoutFlat && position.qty.s !== sign) {
      refuse('FORBID_REVERSE_WITHOUT_FLAT', `FORBID_REVERSE_WITHOUT_FLAT: ${c.symbol} ${c.side} entry against a held ${position.qty.toString()} sh position; close it first`);
      continue;
    }
    if (c.side === 'sell') {
      // longOnly is off, but sizing, stops and the paper broker are long-only in this release.
      refuse('LONG_ONLY', `LONG_ONLY: ${c.symbol} sell-to-open refused: short entries are not supported by the sizing in this release`);
      continue;
    }
    if (L.onePositionPerSymbol && (position || pendingBuys.has(c.symbol) || allowedThisRun.has(c.symbol))) {
      refuse(
        'ONE_POSITION_PER_SYMBOL',
        position
          ? `ONE_POSITION_PER_SYMBOL: ${c.symbol} already held (${position.qty.toString()} sh)`
          : pendingBuys.has(c.symbol)
            ? `ONE_POSITION_PER_SYMBOL: ${c.symbol} already has an open buy order`
            : `ONE_POSITION_PER_SYMBOL: ${c.symbol} already has an entry allowed earlier in this run`,
      );
      continue;
    }
    if (position && L.forbidAddToLoser && position.last.times(sign).lt(position.avg.times(sign))) {
      refuse('FORBID_ADD_TO_LOSER', `FORBID_ADD_TO_LOSER: ${c.symbol} at ${position.last.toString()} is below its average entry ${position.avg.toString()}; no adding to a loser`);
      continue;
    }
    const m = input.market[c.symbol];
    if (!m || !isFresh(m.lastBarDate, input.priorSessions, L.maxDataAgeSessions)) {
      const oldest = input.priorSessions[input.priorSessions.length - L.maxDataAgeSessions];
      refuse('STALE_DATA', m ? `STALE_DATA: ${c.symbol} last bar ${m.lastBarDate} is older than ${L.maxDataAgeSessions} session(s) (needs >= ${oldest})` : `STALE_DATA: ${c.symbol} has no market data this run`);
      continue;
    }
    if (!occupied.has(c.symbol) && occupied.size >= L.maxOpenPositions) {
      refuse('MAX_OPEN_POSITIONS', `MAX_OPEN_POSITIONS: ${occupied.size} held or pending >= limit ${L.maxOpenPositions}`);
      continue;
    }

    const heldValue = (position ? position.qty.abs().times(position.last) : new Dec(0)).plus(pendingValue.get(c.symbol) ?? 0);
    const caps: NotionalCap[] = [
      { rule: 'MAX_ORDER_NOTIONAL', room: dec(L.maxOrderNotional) },
      { rule: 'MAX_GROSS_EXPOSURE', room: equity.times(L.maxGrossExposureFraction).minus(gross) },
      { rule: 'CATEGORY_CONCENTRATION', room: equity.times(L.maxCategoryFraction).minus(categoryValue.get(category(c.symbol)) ?? 0) },
    ];
    let plan: EntryPlan;
    try {
      plan = planLongEntry({ lastClose: m.lastClose, atr: m.atr14, equity, freeCash, limits: L, sizeMultiplier, heldValue, caps });
    } catch (error) {
      refuse('RISK_BUDGET', `RISK_BUDGET: ${c.symbol} cannot be sized: ${(error as Error).message}`);
      continue;
    }
    const entry = dec(plan.limitPrice);
    if (plan.qtyByRisk < 1) {
      refuse('RISK_BUDGET', `RISK_BUDGET: risk budget ${formatUsd(plan.riskBudget)} USD (${pct(L.riskPerTrade)} NAV x ${sizeMultiplier}) < risk per share ${formatUsd(plan.riskPerShare)} USD (${L.stopMode === 'percent' ? `${pct(L.stopPercent)} stop` : `${L.atrStopMultiple} x ATR stop`})`, plan);
      continue;
    }
    if (plan.qtyByPositionLimit < 1) {
      refuse('MAX_POSITION_PCT', `MAX_POSITION_PCT: ${c.symbol} ${heldValue.gt(0) ? `${formatUsd(heldValue)} USD held + ` : ''}1 sh at ${plan.limitPrice} = ${pct(heldValue.plus(entry).div(equity), 1)} NAV > ${pct(L.maxPositionFraction, 1)}`, plan);
      continue;
    }
    if (plan.qtyByCash < 1) {
      refuse('CASH_BUFFER', `CASH_BUFFER: ${formatUsd(plan.cashAvailable)} USD free after the ${pct(L.cashBufferFraction, 1)} NAV cash buffer buys < 1 share at ${plan.limitPrice}`, plan);
      continue;
    }
    if ((plan.qtyByCap.MAX_ORDER_NOTIONAL ?? 1) < 1) {
      refuse('MAX_ORDER_NOTIONAL', `MAX_ORDER_NOTIONAL: ${c.symbol} 1 sh at ${plan.limitPrice} USD > max order notional ${formatUsd(L.maxOrderNotional)} USD`, plan);
      continue;
    }
    if ((plan.qtyByCap.MAX_GROSS_EXPOSURE ?? 1) < 1) {
      refuse('MAX_GROSS_EXPOSURE', `MAX_GROSS_EXPOSURE: gross ${pct(gross.div(equity), 1)} NAV + 1 sh ${c.symbol} (${pct(entry.div(equity), 1)}) > ${pct(L.maxGrossExposureFraction, 1)}`, plan);
      continue;
    }
    if ((plan.qtyByCap.CATEGORY_CONCENTRATION ?? 1) < 1) {
      const cat = category(c.symbol);
      refuse('CATEGORY_CONCENTRATION', `CATEGORY_CONCENTRATION: ${cat} ${pct((categoryValue.get(cat) ?? new Dec(0)).div(equity), 1)} NAV + 1 sh ${c.symbol} (${pct(entry.div(equity), 1)}) > ${pct(L.maxCategoryFraction, 1)}`, plan);
      continue;
    }
    let qty = plan.qty;
    let adjusted: string | undefined;
    if (c.qty !== undefined) {
      const proposed = dec(c.qty, `intents.${c.symbol}.qty`).floor().toNumber();
      if (proposed < qty) qty = proposed;
      else if (proposed > qty) adjusted = String(qty);
    }
    const notional = entry.times(qty);
    if (notional.lt(L.minOrderNotional) || qty < 1) {
      refuse('MIN_NOTIONAL', `MIN_NOTIONAL: ${c.symbol} ${qty} sh x ${plan.limitPrice} = ${formatUsd(notional)} USD < minimum ${formatUsd(L.minOrderNotional)} USD`, plan);
      continue;
    }

    // Pre-trade sanity.
    const close = dec(m.lastClose);
    const deviation = (price: Dec) => price.minus(close).abs().div(close);
    const limitDev = deviation(entry);
    const quoteDev = m.quote !== undefined ? deviation(dec(m.quote)) : new Dec(0);
    if (limitDev.gt(L.maxPriceDeviationFraction) || quoteDev.gt(L.maxPriceDeviationFraction)) {
      const [what, price, dev] = quoteDev.gt(limitDev) ? ['quote', String(m.quote), quoteDev] : ['limit', plan.limitPrice, limitDev];
      refuse('PRICE_DEVIATION', `PRICE_DEVIATION: ${c.symbol} ${what} ${price} is ${pct(dev)} from the last close ${m.lastClose} > ${pct(L.maxPriceDeviationFraction, 1)}`, plan);
      continue;
    }
    if (m.adv20 === null || !(m.adv20 > 0)) {
      refuse('LIQUIDITY', `LIQUIDITY: ${c.symbol} has no 20-day average daily volume; cannot check ${qty} sh against ${pct(L.maxAdvFraction, 1)} ADV`, plan);
      continue;
    }
    if (qty > m.adv20 * L.maxAdvFraction) {
      refuse('LIQUIDITY', `LIQUIDITY: ${c.symbol} ${qty} sh = ${pct(qty / m.adv20)} of ADV20 ${Math.round(m.adv20)} sh > ${pct(L.maxAdvFraction, 1)}`, plan);
      continue;
    }
    if (medianNotional !== null && notional.gt(dec(medianNotional).times(L.fatFingerMultiple))) {
      refuse('FAT_FINGER', `FAT_FINGER: ${c.symbol} notional ${formatUsd(notional)} USD > ${L.fatFingerMultiple} x median entry notional ${formatUsd(medianNotional)} USD`, plan);
      continue;
    }

    const finalPlan: EntryPlan = qty === plan.qty ? plan : { ...plan, qty, notional: notional.toString(), riskAmount: dec(plan.riskPerShare).times(qty).toString() };
    const binding = qty < plan.qty ? 'PROPOSED_QTY' : plan.bindingLimit;
    const capped = binding === 'RISK_PER_TRADE' || binding === 'PROPOSED_QTY' ? '' : ` (capped by ${binding})`;
    const reduced = sizeMultiplier < 1 ? `; size x ${sizeMultiplier} (${factors.map((x) => x.split(':')[0]).join(', ')})` : '';
    decisions.push({
      ...base,
      allowed: true,
      rule: 'OK',
      qty: String(qty),
      ...(adjusted !== undefined ? { adjustedQty: adjusted } : {}),
      reason: `OK: buy ${qty} ${c.symbol} limit ${finalPlan.limitPrice} stop ${finalPlan.stopLossPrice}; risk ${formatUsd(finalPlan.riskAmount)} USD = ${pct(dec(finalPlan.riskAmount).div(equity))} NAV, value ${pct(notional.div(equity))} NAV${capped}${reduced}`,
      plan: finalPlan,
    });
    entriesAllowed += 1;
    allowedThisRun.add(c.symbol);
    pendingValue.set(c.symbol, (pendingValue.get(c.symbol) ?? new Dec(0)).plus(notional));
    occupied.add(c.symbol);
    freeCash = freeCash.minus(notional);
    gross = gross.plus(notional);
    addCategory(c.symbol, notional);
  }

  return {
    tradingState: state,
    decisions,
    sizeMultiplier,
    readings,
    actions,
    memory,
    metrics: {
      equity: equity.toString(),
      sessionStartEquity: start.toString(),
      dailyPnlFraction: dayPnl,
      highWaterMark: memory.highWaterMark,
      drawdownFraction: drawdown,
      rollingSharpe: sharpe,
      ulcerIndex: ulcer,
      lossStreak: streak,
      entriesToday: history.entriesToday,
      regime,
    },
    reservedCash: reserved.toString(),
  };
}

/**
 * An exit is risk-reducing, so it is always allowed — but never larger than the position it closes
 * (that would open a short: NO_NAKED_SHORT cuts it), and never without a position (NO_POSITION).
 */
function decideExit(x: ExitIntent, heldQty: Dec | undefined): RiskDecision {
  const base = {
    symbol: x.symbol,
    kind: 'exit' as const,
    side: x.side,
    action: x.side === 'sell' ? ('sell_to_close' as const) : ('buy_to_close' as const),
    purpose: x.purpose,
  };
  const want = dec(x.qty, `intents.${x.symbol}.qty`);
  const closes = heldQty !== undefined && ((x.side === 'sell' && heldQty.gt(0)) || (x.side === 'buy' && heldQty.lt(0)));
  if (!closes || want.lte(0)) {
    return { ...base, allowed: false, rule: 'NO_POSITION', qty: null, reason: `NO_POSITION: ${x.symbol} ${x.side} ${x.qty} would not reduce a position (held ${heldQty?.toString() ?? '0'} sh)` };
  }
  const max = heldQty!.abs();
  if (want.gt(max)) {
    return {
      ...base,
      allowed: true,
      rule: 'NO_NAKED_SHORT',
      qty: max.toString(),
      adjustedQty: max.toString(),
      reason: `NO_NAKED_SHORT: ${x.side} ${x.qty} ${x.symbol} > ${max.toString()} held; cut to ${max.toString()} (${x.purpose}: ${x.cause})`,
    };
  }
  return { ...base, allowed: true, rule: 'EXIT', qty: want.toString(), reason: `EXIT: ${x.side} ${want.toString()} ${x.symbol} to close (${x.purpose}: ${x.cause})` };
}

/** Where a day's P&L stands on the daily-loss ladder. */
export interface DailyLossAssessment {
  /** equity / sessionStartEquity − 1, signed fraction (−0.02 = a 2% loss). */
  fraction: number;
  /** hard: ≤ −dailyLossHardFraction; soft: ≤ −dailyLossSoftFraction; ok otherwise. */
  rung: 'hard' | 'soft' | 'ok';
  /** The loss is at or beyond half the hard limit (a HIGH alert), but not at the hard limit. */
  beyondHalfLimit: boolean;
  /** `day P&L -1.95% of session start equity 100,000.00 USD`. */
  text: string;
}

/**
 * The daily-loss ladder for one equity reading, compared in decimals (so exactly −2% is the hard
 * stop). Used by the kernel before deciding and by cancel-verify on the session's closing equity.
 * @param start the session's starting equity (the previous session's close), USD; ≤ 0 reads as no loss.
 * @param equity the equity now, USD.
 */
export function assessDailyLoss(start: Dec, equity: Dec, limits: Pick<StrategyConfig, 'dailyLossSoftFraction' | 'dailyLossHardFraction'>): DailyLossAssessment {
  const pnl = start.gt(0) ? equity.div(start).minus(1) : new Dec(0);
  const text = `day P&L ${pct(pnl)} of session start equity ${formatUsd(start)} USD`;
  const rung = pnl.lte(-limits.dailyLossHardFraction) ? 'hard' : pnl.lte(-limits.dailyLossSoftFraction) ? 'soft' : 'ok';
  const beyondHalfLimit = rung !== 'hard' && pnl.lte(dec(limits.dailyLossHardFraction).div(-2));
  return { fraction: pnl.toNumber(), rung, beyondHalfLimit, text };
}

/** True when a bar dated `lastBarDate` is at most `maxAge` sessions old given the sessions before today. */
function isFresh(lastBarDate: string, priorSessions: readonly string[], maxAge: number): boolean {
  const oldest = priorSessions[priorSessions.length - maxAge];
  return oldest !== undefined && lastBarDate >= oldest;
}

/** The exits that flatten an account: one per position, the whole quantity. */
export function flattenIntents(account: AccountSnapshot, cause: string): ExitIntent[] {
  return account.positions
    .filter((p) => !dec(p.qty).isZero())
    .map((p) => ({ kind: 'exit', symbol: p.symbol, side: dec(p.qty).gt(0) ? 'sell' : 'buy', qty: dec(p.qty).abs().toString(), purpose: 'flatten', cause }));
}
