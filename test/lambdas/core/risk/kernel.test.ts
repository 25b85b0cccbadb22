/**
 * Boundary tests of the risk kernel, one block per rule: an input just inside the limit (the entry
 * is allowed, or a reduce rung does NOT cut the size) and one just outside (refused with exactly that
 * rule and a `RULE: ...` reason carrying the values).
 *
 * Baseline (see `input()`): NAV 100,000 USD all cash, no positions, kill switch ARMED since a day
 * earlier, latch ACTIVE, session 2018-02-06 (EST: open 14:30Z, close 21:00Z), now 14:45Z, prior
 * sessions ending 2018-02-05, AAPL last close 100 (bar 2018-02-05) with ATR 4.3 and ADV 1M shares,
 * SPY rising gently over 300 closes (risk-on), session start equity = equity, no trades.
 *
 * Its one entry, by hand: limit = 100 x 1.005 = 100.50; stop = 100.50 - 2 x 4.3 = 91.90;
 * risk/share 8.60; budget 100,000 x 0.5% = 500 -> floor(500 / 8.6) = 58 sh = 5,829.00 USD.
 */
import { describe, expect, it } from 'vitest';
import { parseStrategyConfig } from '../../../../lambdas/core/config';
import { INITIAL_TRADING_STATE, interpretKillSwitch, type PersistedTradingState } from '../../../../lambdas/core/kill-switch';
import {
  decideRisk,
  type AccountSnapshot,
  type EntryIntent,
  type ExitIntent,
  type MarketInfo,
  type RiskDecision,
  type RiskHistory,
  type RiskInput,
  type RiskMemory,
  type RiskResult,
  type RiskRule,
} from '../../../../lambdas/core/risk/kernel';
import { regimeFilter, rollingSharpe, ulcerIndex } from '../../../../lambdas/core/risk/metrics';
import type { ClosedTrade } from '../../../../lambdas/core/trades';

// ---- baseline ---------------------------------------------------------------------------------

const NOW = '2018-02-06T14:45:00.000Z';
const SESSION = { date: '2018-02-06', openUtc: '2018-02-06T14:30:00.000Z', closeUtc: '2018-02-06T21:00:00.000Z' };
const PRIOR = ['2018-01-29', '2018-01-30', '2018-01-31', '2018-02-01', '2018-02-02', '2018-02-05'];
const LAST_BAR = '2018-02-05';
const STREAK_SINCE = '2018-02-05T14:30:00.000Z';
const armed = interpretKillSwitch({ ok: true, value: 'ARMED', lastModified: '2018-02-05T14:45:00.000Z' });

/** Closes from a start price and LOG returns. */
const fromLogReturns = (start: number, r: readonly number[]): number[] =>
  r.reduce<number[]>((acc, x) => [...acc, (acc[acc.length - 1] as number) * Math.exp(x)], [start]);
/** SPY rising 0.05% a day over 300 closes: above its SMA200, so risk-on. */
const RISING = fromLogReturns(250, Array.from({ length: 299 }, () => 0.0005));

const mkt = (over: Partial<MarketInfo> = {}): MarketInfo => ({ lastClose: 100, lastBarDate: LAST_BAR, atr14: 4.3, adv20: 1_000_000, ...over });
const FLAT: AccountSnapshot = { asOf: '2018-02-06T14:40:00.000Z', cash: '100000', equity: '100000', positions: [], openOrders: [] };

const buy = (symbol = 'AAPL', over: Partial<EntryIntent> = {}): EntryIntent => ({ kind: 'entry', symbol, side: 'buy', rank: 1, score: 1, ...over });
const exit = (symbol: string, qty: string, side: 'buy' | 'sell' = 'sell', purpose: ExitIntent['purpose'] = 'stop_loss'): ExitIntent => ({
  kind: 'exit',
  symbol,
  side,
  qty,
  purpose,
  cause: 'stop hit',
});
const position = (symbol: string, qty: string, last: string, avg = last) => ({ symbol, qty, avgEntryPrice: avg, lastPrice: last });
const openBuy = (symbol: string, qty: string, limitPrice: string | null, filledQty = '0') => ({
  clientOrderId: `o-${symbol}`,
  symbol,
  side: 'buy' as const,
  type: limitPrice === null ? ('market' as const) : ('limit' as const),
  qty,
  filledQty,
  limitPrice,
});

type Over = Partial<Omit<RiskInput, 'account' | 'history' | 'limits'>> & {
  account?: Partial<AccountSnapshot>;
  history?: Partial<RiskHistory>;
  limits?: Record<string, unknown>;
};

/** The baseline input with overrides; the session start equity follows the account's equity unless given. */
function input(over: Over = {}): RiskInput {
  const { account, history, limits, ...rest } = over;
  const acct = { ...FLAT, ...account };
  return {
    now: NOW,
    session: SESSION,
    priorSessions: PRIOR,
    killSwitch: armed,
    latch: INITIAL_TRADING_STATE,
    dayLock: null,
    intents: [buy()],
    market: { AAPL: mkt(), MSFT: mkt(), XOM: mkt(), JPM: mkt() },
    benchmark: { symbol: 'SPY', closes: RISING, lastBarDate: LAST_BAR },
    memory: null,
    ...rest,
    account: acct,
    history: {
      sessionStartEquity: acct.equity,
      equityCurve: [],
      closedTrades: [],
      entriesToday: 0,
      recentEntryNotionals: [],
      streakSince: STREAK_SINCE,
      ...history,
    },
    limits: parseStrategyConfig(limits ?? {}),
  };
}

const run = (over: Over = {}): RiskResult => decideRisk(input(over));
const entries = (r: RiskResult) => r.decisions.filter((d) => d.kind === 'entry');
const exits = (r: RiskResult) => r.decisions.filter((d) => d.kind === 'exit');
const firstEntry = (r: RiskResult): RiskDecision => entries(r)[0]!;
const entry = (over: Over = {}): RiskDecision => firstEntry(run(over));

function expectAllowed(d: RiskDecision, qty?: number): void {
  expect(d.allowed, d.reason).toBe(true);
  expect(d.rule).toBe('OK');
  expect(d.reason.startsWith('OK:')).toBe(true);
  if (qty !== undefined) expect(d.qty).toBe(String(qty));
}

function expectRefused(d: RiskDecision, rule: RiskRule, ...parts: string[]): void {
  expect(d.allowed, d.reason).toBe(false);
  expect(d.rule).toBe(rule);
  expect(d.qty).toBeNull();
  expect(d.reason.startsWith(`${rule}:`), d.reason).toBe(true);
  for (const p of parts) expect(d.reason).toContain(p);
}

const mem = (over: Partial<RiskMemory> = {}): RiskMemory => ({
  highWaterMark: '100000',
  highWaterMarkAt: '2018-01-02T21:00:00.000Z',
  milestoneBaseline: '100000',
  milestoneLevel: 0,
  drawdownRung: 'none',
  ...over,
});

const trade = (exitAt: string, pnl: string, symbol = 'MSFT'): ClosedTrade => ({
  symbol,
  qty: '10',
  entryPrice: '100',
  exitPrice: String(100 + Number(pnl) / 10),
  entryAt: '2018-01-30T15:00:00.000Z',
  entrySessionDate: '2018-01-30',
  exitAt,
  exitSessionDate: exitAt.slice(0, 10),
  costBasis: '1000',
  pnl,
  returnFraction: String(Number(pnl) / 1000),
  exitPurpose: 'stop_loss',
  exitClientOrderId: `x-${exitAt}`,
});
const loss = (exitAt: string) => trade(exitAt, '-10');

const reading = (r: RiskResult, rule: string) => r.readings.find((x) => x.rule === rule);
const alertsOf = (r: RiskResult, type: string) => r.actions.alerts.filter((a) => a.type === type);

/** 64 equity points ending exactly at `last` whose simple daily returns are `returns` (63 of them). */
function curveFromReturns(returns: readonly number[], last = 100000): number[] {
  const pts = [last];
  for (let i = returns.length - 1; i >= 0; i--) pts.unshift(pts[0]! / (1 + returns[i]!));
  return pts;
}

/** A 64-point equity curve ending at 100,000 whose 63-session Sharpe is `target` (returns μ ± 0.5%, μ by bisection). */
function sharpeCurve(target: number): number[] {
  const make = (mu: number) => curveFromReturns(Array.from({ length: 63 }, (_, i) => mu + (i % 2 === 0 ? 0.005 : -0.005)));
  let lo = -0.01;
  let hi = 0.01;
  for (let k = 0; k < 100; k++) {
    const mid = (lo + hi) / 2;
    if (rollingSharpe(make(mid), 63)! < target) lo = mid;
    else hi = mid;
  }
  return make(hi);
}

/** 64 points ending at 100,000: a fall of `depth` over 16 sessions, then a rise to 1.3x the start (Sharpe stays high). */
function drawdownCurve(depth: number): number[] {
  const down = (1 - depth) ** (1 / 16) - 1;
  const up = (1.3 / (1 - depth)) ** (1 / 47) - 1;
  return curveFromReturns([...Array.from({ length: 16 }, () => down), ...Array.from({ length: 47 }, () => up)]);
}

/** A drawdownCurve whose Ulcer index over 63 sessions is `target` (depth by bisection). */
function ulcerCurve(target: number): number[] {
  let lo = 0.01;
  let hi = 0.6;
  for (let k = 0; k < 100; k++) {
    const mid = (lo + hi) / 2;
    if (ulcerIndex(drawdownCurve(mid), 63)! < target) lo = mid;
    else hi = mid;
  }
  return drawdownCurve(hi);
}

/** Splits a curve into the history (all but the last point) and the account equity (the last point). */
const withCurve = (curve: readonly number[]): Over => ({
  account: { equity: String(curve[curve.length - 1]), cash: String(curve[curve.length - 1]) },
  history: { equityCurve: curve.slice(0, -1) },
});

/** 301 closes: 279 log returns of +0.05% ± 1% (vol ~16%), then 21 of `tailDrift` ± `tailNoise`. */
function regimeSeries(tailDrift: number, tailNoise: number): number[] {
  const r: number[] = [];
  for (let i = 0; i < 279; i++) r.push(0.0005 + (i % 2 === 0 ? 0.01 : -0.01));
  for (let i = 0; i < 21; i++) r.push(tailDrift + (i % 2 === 0 ? tailNoise : -tailNoise));
  return fromLogReturns(100, r);
}
const spy = (closes: readonly number[], lastBarDate = LAST_BAR) => ({ symbol: 'SPY', closes, lastBarDate });

// ---- tests --------------------------------------------------------------------------------------

describe('baseline', () => {
  it('allows the one entry: 58 sh by the 500 USD risk budget', () => {
    const r = run();
    const d = firstEntry(r);
    expectAllowed(d, 58);
    expect(d).toMatchObject({ symbol: 'AAPL', kind: 'entry', side: 'buy', action: 'buy_to_open', rank: 1, score: 1 });
    expect(d.reason).toBe('OK: buy 58 AAPL limit 100.5 stop 91.9; risk 498.80 USD = 0.50% NAV, value 5.83% NAV');
    expect(d.plan).toMatchObject({ qty: 58, limitPrice: '100.5', stopLossPrice: '91.9', riskPerShare: '8.6', notional: '5829' });
    expect(r.tradingState.state).toBe('ACTIVE');
    expect(r.sizeMultiplier).toBe(1);
    expect(r.actions).toEqual({ flatten: null, latch: null, dayLock: null, alerts: [] });
    for (const rule of ['MAX_DRAWDOWN', 'DAILY_LOSS_LIMIT', 'LOSS_STREAK', 'COOLING_OFF', 'OUTSIDE_TRADE_WINDOW', 'SHARPE_GATE', 'ULCER_GATE', 'REGIME_FILTER', 'MAX_TRADES_PER_DAY']) {
      expect(reading(r, rule), rule).toBeDefined();
    }
    expect(reading(r, 'REGIME_FILTER')!.status).toBe('ok');
    expect(reading(r, 'SHARPE_GATE')!.status).toBe('n/a');
  });

  it('rejects a non-positive equity and a bad now', () => {
    expect(() => run({ account: { equity: '0' } })).toThrow(/account.equity must be > 0/);
    expect(() => run({ now: 'yesterday' })).toThrow(/now must be an ISO-8601 instant/);
  });
});

describe('KILL_SWITCH', () => {
  it('ARMED allows (inside)', () => expectAllowed(entry({ killSwitch: armed }), 58));

  it('REDUCE_ONLY refuses entries; the account is REDUCING', () => {
    const r = run({ killSwitch: interpretKillSwitch({ ok: true, value: 'REDUCE_ONLY' }) });
    expectRefused(firstEntry(r), 'KILL_SWITCH', 'KILL_SWITCH: kill switch is REDUCE_ONLY; new entries need ARMED');
    expect(r.tradingState.state).toBe('REDUCING');
  });

  it('HALTED refuses every entry; the account is HALTED', () => {
    const r = run({ killSwitch: interpretKillSwitch({ ok: true, value: 'HALTED' }), intents: [buy('AAPL'), buy('XOM')] });
    for (const d of entries(r)) expectRefused(d, 'KILL_SWITCH', 'kill switch is HALTED');
    expect(r.tradingState.state).toBe('HALTED');
  });

  it.each([
    ['an unreadable parameter', interpretKillSwitch({ ok: false, error: 'AccessDenied' }), 'AccessDenied'],
    ['an unknown value', interpretKillSwitch({ ok: true, value: 'armed' }), '"armed"'],
  ])('fails closed on %s', (_, ks, detail) => {
    expect(ks.failedClosed).toBe(true);
    const r = run({ killSwitch: ks });
    expectRefused(firstEntry(r), 'KILL_SWITCH', detail, 'treated as HALTED');
    expect(r.tradingState.state).toBe('HALTED');
  });
});

describe('TRADING_HALTED (the latch)', () => {
  const since = '2018-02-05T21:15:00.000Z';
  it('ACTIVE allows (inside)', () => expectAllowed(entry({ latch: { state: 'ACTIVE', cause: 'REARMED: x', since } }), 58));

  it('HALTED refuses with the cause and since', () => {
    const latch: PersistedTradingState = { state: 'HALTED', cause: 'RECONCILIATION_MISMATCH: AAPL ledger 10 vs broker 0', since };
    const r = run({ latch });
    expectRefused(firstEntry(r), 'TRADING_HALTED', `TRADING_HALTED: RECONCILIATION_MISMATCH: AAPL ledger 10 vs broker 0 (since ${since}); re-arm`);
    expect(r.tradingState).toEqual({ state: 'HALTED', cause: latch.cause });
  });

  it('REDUCING refuses and says exits only', () => {
    const r = run({ latch: { state: 'REDUCING', cause: 'RECONCILIATION_MISMATCH: x', since } });
    expectRefused(firstEntry(r), 'TRADING_HALTED', 'latch REDUCING (exits only): RECONCILIATION_MISMATCH: x');
    expect(r.tradingState.state).toBe('REDUCING');
  });
});

describe('MAX_DRAWDOWN and DRAWDOWN_REDUCE (from the high-water mark 100,000)', () => {
  it('-19.999% (equity 80,001) is inside the halt: allowed, at the reduce rung', () => {
    // budget 80,001 x 0.5% x 0.5 = 200.0025 / 8.6 -> 23 sh
    const r = run({ account: { equity: '80001', cash: '80001' }, memory: mem() });
    expectAllowed(firstEntry(r), 23);
    expect(r.actions.flatten).toBeNull();
    expect(r.tradingState.state).toBe('ACTIVE');
  });

  it('-20.001% (equity 79,999) halts: flatten every position, latch HALTED, CRITICAL once', () => {
    const positions = [position('MSFT', '10', '100'), position('XOM', '-5', '100'), position('JPM', '3', '50')];
    const r = run({ account: { equity: '79999', cash: '50000', positions }, memory: mem() });
    const d = firstEntry(r);
    expectRefused(d, 'MAX_DRAWDOWN', 'equity 79,999.00 USD is 20.00% below the high-water mark 100,000.00 USD (limit 20.0%)', 'HALTED until the kill switch is re-armed');
    expect(r.tradingState.state).toBe('HALTED');
    expect(r.actions.flatten).toEqual({ cause: d.reason });
    expect(r.actions.latch).toEqual({ state: 'HALTED', cause: d.reason, since: NOW });
    expect(alertsOf(r, 'MAX_DRAWDOWN')).toEqual([{ severity: 'CRITICAL', type: 'MAX_DRAWDOWN', message: d.reason }]);
    expect(r.memory.drawdownRung).toBe('halt');
    expect(reading(r, 'MAX_DRAWDOWN')!.status).toBe('halt');
    // one full exit per position, whatever its side
    expect(exits(r).map((x) => [x.symbol, x.action, x.qty, x.allowed, x.rule, x.purpose])).toEqual([
      ['MSFT', 'sell_to_close', '10', true, 'EXIT', 'flatten'],
      ['XOM', 'buy_to_close', '5', true, 'EXIT', 'flatten'],
      ['JPM', 'sell_to_close', '3', true, 'EXIT', 'flatten'],
    ]);

    // Next run, latch persisted, memory carried and the flatten done: no second flatten or CRITICAL.
    const again = run({ account: { equity: '79999', cash: '79999' }, memory: r.memory, latch: r.actions.latch! });
    expect(again.actions.flatten).toBeNull();
    expect(again.actions.latch).toBeNull();
    expect(alertsOf(again, 'MAX_DRAWDOWN')).toEqual([]);
    expect(firstEntry(again).allowed).toBe(false);
    // Had a position survived the flatten, the next run flattens it again (still no second CRITICAL).
    const unfinished = run({ account: { equity: '79999', cash: '50000', positions }, memory: r.memory, latch: r.actions.latch! });
    expect(unfinished.actions.flatten?.cause).toMatch(/^MAX_DRAWDOWN: completing the flatten latched at /);
    expect(unfinished.actions.latch).toBeNull();
    expect(alertsOf(unfinished, 'MAX_DRAWDOWN')).toEqual([]);
    expect(exits(unfinished).map((x) => x.symbol)).toEqual(['MSFT', 'XOM', 'JPM']);
  });

  // In floats 80000 / 100000 - 1 = -0.19999999999999996, which is NOT <= -0.2: the kernel compares in
  // decimals so that exactly -20% halts (a float comparison would only take the reduce rung, 23 sh).
  it('-20% exactly (equity 80,000) halts: compared in decimals, not floats', () => {
    const r = run({ account: { equity: '80000', cash: '80000' }, memory: mem() });
    expectRefused(firstEntry(r), 'MAX_DRAWDOWN', '20.00% below');
    expect(r.actions.flatten).not.toBeNull();
  });

  it('-9.999% (equity 90,001) is inside the reduce rung: full size', () => {
    // 90,001 x 0.5% = 450.005 / 8.6 -> 52 sh
    const r = run({ account: { equity: '90001', cash: '90001' }, memory: mem() });
    expectAllowed(firstEntry(r), 52);
    expect(r.sizeMultiplier).toBe(1);
    expect(alertsOf(r, 'DRAWDOWN')).toEqual([]);
  });

  it('-10.001% (equity 89,999) halves the size and sends one HIGH alert', () => {
    // 89,999 x 0.5% x 0.5 = 224.9975 / 8.6 -> 26 sh
    const r = run({ account: { equity: '89999', cash: '89999' }, memory: mem() });
    const d = firstEntry(r);
    expectAllowed(d, 26);
    expect(d.reason).toContain('size x 0.5 (DRAWDOWN_REDUCE)');
    expect(r.sizeMultiplier).toBe(0.5);
    expect(reading(r, 'DRAWDOWN_REDUCE')).toMatchObject({ status: 'reduce' });
    expect(reading(r, 'DRAWDOWN_REDUCE')!.detail).toContain('10.00% below the high-water mark 100,000.00 USD (limit 10.0%); size x 0.5');
    expect(alertsOf(r, 'DRAWDOWN')).toHaveLength(1);
    expect(alertsOf(r, 'DRAWDOWN')[0]!.severity).toBe('HIGH');
    expect(r.memory.drawdownRung).toBe('reduce');
    // once: the next run at the same rung alerts no more, but still halves
    const again = run({ account: { equity: '89999', cash: '89999' }, memory: r.memory });
    expect(alertsOf(again, 'DRAWDOWN')).toEqual([]);
    expect(firstEntry(again).qty).toBe('26');
  });

  // In floats 90000 / 100000 - 1 = -0.09999999999999998 > -0.1; in decimals exactly -10% halves:
  // 90,000 x 0.5% x 0.5 = 225 / 8.6 -> 26 sh.
  it('-10% exactly (equity 90,000) halves the size: compared in decimals', () => {
    const r = run({ account: { equity: '90000', cash: '90000' }, memory: mem() });
    expectAllowed(firstEntry(r), 26);
  });
});

describe('DAY_LOCKED', () => {
  const lock = (date: string) => ({ date, cause: 'LOSS_STREAK: 3 consecutive losing trades', since: '2018-02-06T14:35:00.000Z' });
  it("yesterday's lock does not apply (inside)", () => expectAllowed(entry({ dayLock: lock('2018-02-05') }), 58));
  it("today's lock refuses and halts the day", () => {
    const r = run({ dayLock: lock('2018-02-06') });
    expectRefused(firstEntry(r), 'DAY_LOCKED', 'DAY_LOCKED: LOSS_STREAK: 3 consecutive losing trades (since 2018-02-06T14:35:00.000Z); entries resume next session');
    expect(r.tradingState.state).toBe('HALTED');
    expect(r.actions.dayLock).toBeNull();
  });
});

describe('DAILY_LOSS_LIMIT (-2%) and DAILY_LOSS_SOFT (-1.5%), from the session start equity 100,000', () => {
  const day = (equity: string): Over => ({ account: { equity, cash: equity }, history: { sessionStartEquity: '100000' } });

  it('-1.999% (98,001) is inside the hard limit: allowed at the soft rung', () => {
    // 98,001 x 0.5% x 0.5 = 245.0025 / 8.6 -> 28 sh
    const r = run(day('98001'));
    expectAllowed(firstEntry(r), 28);
    expect(r.actions.dayLock).toBeNull();
  });

  it('-2% exactly (98,000) refuses, locks the day and sends a CRITICAL', () => {
    const r = run(day('98000'));
    const d = firstEntry(r);
    expectRefused(d, 'DAILY_LOSS_LIMIT', 'day P&L -2.00% of session start equity 100,000.00 USD <= -2.00%; day locked');
    expect(r.actions.dayLock).toEqual({ date: '2018-02-06', cause: d.reason, since: NOW });
    expect(alertsOf(r, 'DAILY_LOSS_LIMIT')).toEqual([{ severity: 'CRITICAL', type: 'DAILY_LOSS_LIMIT', message: d.reason }]);
    expect(alertsOf(r, 'DAILY_LOSS')).toEqual([]);
    expect(r.tradingState.state).toBe('HALTED');
    expect(r.metrics.dailyPnlFraction).toBe(-0.02);
  });

  it('a day already locked is not locked (nor alerted) again', () => {
    const r = run({ ...day('97000'), dayLock: { date: '2018-02-06', cause: 'DAILY_LOSS_LIMIT: earlier', since: '2018-02-06T14:35:00.000Z' } });
    expectRefused(firstEntry(r), 'DAY_LOCKED');
    expect(r.actions.dayLock).toBeNull();
    expect(alertsOf(r, 'DAILY_LOSS_LIMIT')).toEqual([]);
  });

  it('-1.499% (98,501) keeps full size (inside the soft rung)', () => {
    // 98,501 x 0.5% = 492.505 / 8.6 -> 57 sh
    const r = run(day('98501'));
    expectAllowed(firstEntry(r), 57);
    expect(r.sizeMultiplier).toBe(1);
  });

  it('-1.5% exactly (98,500) halves the risk budget', () => {
    // 98,500 x 0.5% x 0.5 = 246.25 / 8.6 -> 28 sh
    const r = run(day('98500'));
    const d = firstEntry(r);
    expectAllowed(d, 28);
    expect(d.reason).toContain('size x 0.5 (DAILY_LOSS_SOFT)');
    expect(r.sizeMultiplier).toBe(0.5);
    expect(reading(r, 'DAILY_LOSS_SOFT')).toMatchObject({ status: 'reduce' });
    expect(reading(r, 'DAILY_LOSS_SOFT')!.detail).toContain('day P&L -1.50% of session start equity 100,000.00 USD <= -1.50%; size x 0.5');
  });

  it('the HIGH DAILY_LOSS alert fires from -1% (half the hard limit), not at -0.999%', () => {
    expect(alertsOf(run(day('99001')), 'DAILY_LOSS')).toEqual([]);
    const at = run(day('99000'));
    expect(alertsOf(at, 'DAILY_LOSS')).toEqual([
      { severity: 'HIGH', type: 'DAILY_LOSS', message: 'DAILY_LOSS: day P&L -1.00% of session start equity 100,000.00 USD is beyond half the -2.00% limit' },
    ]);
    // 99,000 x 0.5% = 495 / 8.6 -> 57: the alert alone does not cut the size
    expectAllowed(firstEntry(at), 57);
    expect(alertsOf(run(day('98500')), 'DAILY_LOSS')).toHaveLength(1);
  });
});

describe('LOSS_STREAK (reduce at 2, stop at 3, trades closed since streakSince)', () => {
  const t = (n: number) => `2018-02-05T${15 + n}:00:00.000Z`;

  it('1 loss: full size (inside the reduce rung)', () => expectAllowed(entry({ history: { closedTrades: [loss(t(0))] } }), 58));

  it('2 losses: size x 0.5', () => {
    // 500 x 0.5 = 250 / 8.6 -> 29 sh
    const r = run({ history: { closedTrades: [loss(t(0)), loss(t(1))] } });
    expectAllowed(firstEntry(r), 29);
    expect(firstEntry(r).reason).toContain('(LOSS_STREAK)');
    expect(reading(r, 'LOSS_STREAK')).toMatchObject({ status: 'reduce' });
    expect(r.metrics.lossStreak).toBe(2);
  });

  it('3 losses: refused, day locked, HIGH alert', () => {
    const r = run({ history: { closedTrades: [loss(t(0)), loss(t(1)), loss(t(2))] } });
    const d = firstEntry(r);
    expectRefused(d, 'LOSS_STREAK', `LOSS_STREAK: 3 consecutive losing trades since ${STREAK_SINCE} >= 3; no more entries today`);
    expect(r.actions.dayLock).toEqual({ date: '2018-02-06', cause: d.reason, since: NOW });
    expect(alertsOf(r, 'LOSS_STREAK')).toEqual([{ severity: 'HIGH', type: 'LOSS_STREAK', message: d.reason }]);
  });

  it('a loss closed before streakSince does not count; one closed exactly at it does', () => {
    const before = run({ history: { closedTrades: [loss('2018-02-05T14:29:59.999Z'), loss(t(1)), loss(t(2))] } });
    expectAllowed(firstEntry(before), 29);
    const at = run({ history: { closedTrades: [loss(STREAK_SINCE), loss(t(1)), loss(t(2))] } });
    expectRefused(firstEntry(at), 'LOSS_STREAK');
  });

  it('a win or a flat trade breaks the streak', () => {
    expectAllowed(entry({ history: { closedTrades: [loss(t(0)), loss(t(1)), trade(t(2), '5')] } }), 58);
    expectAllowed(entry({ history: { closedTrades: [loss(t(0)), trade(t(1), '0'), loss(t(2))] } }), 58);
  });
});

describe('MAX_TRADES_PER_DAY (5)', () => {
  it('4 sent today: one more is allowed, the next refused', () => {
    const r = run({ history: { entriesToday: 4 }, intents: [buy('AAPL'), buy('XOM')] });
    expectAllowed(entries(r)[0]!, 58);
    expectRefused(entries(r)[1]!, 'MAX_TRADES_PER_DAY', 'MAX_TRADES_PER_DAY: 5 entries today (4 sent + 1 this run) >= limit 5');
  });
  it('5 sent today: refused', () => {
    const r = run({ history: { entriesToday: 5 } });
    expectRefused(firstEntry(r), 'MAX_TRADES_PER_DAY', '5 entries today (5 sent + 0 this run) >= limit 5');
    expect(reading(r, 'MAX_TRADES_PER_DAY')!.status).toBe('block');
  });
});

describe('COOLING_OFF (60 min after the kill switch changed)', () => {
  const ks = (lastModified: string) => interpretKillSwitch({ ok: true, value: 'ARMED', lastModified });
  it('60 min after (inside)', () => expectAllowed(entry({ killSwitch: ks('2018-02-06T13:45:00.000Z') }), 58));
  it('59 min after: refused until the hour is up', () => {
    expectRefused(
      entry({ killSwitch: ks('2018-02-06T13:46:00.000Z') }),
      'COOLING_OFF',
      'COOLING_OFF: kill switch changed at 2018-02-06T13:46:00.000Z; no automatic entry for 60 min (until 2018-02-06T14:46:00.000Z)',
    );
  });
  it('coolingOffMinutes 0 disables it', () => expectAllowed(entry({ killSwitch: ks(NOW), limits: { coolingOffMinutes: 0 } }), 58));
});

describe('MARKET_CLOSED', () => {
  it('a session allows (inside); no session refuses', () => {
    expectAllowed(entry(), 58);
    expectRefused(entry({ session: null }), 'MARKET_CLOSED', `MARKET_CLOSED: ${NOW} is not on a trading session`);
  });
});

describe('OUTSIDE_TRADE_WINDOW (open + 5 min .. close - 5 min, inclusive)', () => {
  it.each([
    ['09:35 New York (open + 5)', '2018-02-06T14:35:00.000Z'],
    ['15:55 New York (close - 5)', '2018-02-06T20:55:00.000Z'],
  ])('%s is inside', (_, now) => expectAllowed(entry({ now }), 58));

  it.each([
    ['09:34 New York', '2018-02-06T14:34:00.000Z'],
    ['15:56 New York', '2018-02-06T20:56:00.000Z'],
  ])('%s is outside', (_, now) => {
    expectRefused(
      entry({ now }),
      'OUTSIDE_TRADE_WINDOW',
      `OUTSIDE_TRADE_WINDOW: ${now} is outside the 2018-02-06 entry window 2018-02-06T14:35:00.000Z..2018-02-06T20:55:00.000Z (open +5 min, close -5 min)`,
    );
  });

  describe('early close 13:00 New York (2018-07-03, EDT): window ends 12:55', () => {
    const early: Over = {
      session: { date: '2018-07-03', openUtc: '2018-07-03T13:30:00.000Z', closeUtc: '2018-07-03T17:00:00.000Z' },
      priorSessions: ['2018-06-29', '2018-07-02'],
      killSwitch: interpretKillSwitch({ ok: true, value: 'ARMED', lastModified: '2018-07-02T14:00:00.000Z' }),
      market: { AAPL: mkt({ lastBarDate: '2018-07-02' }) },
      benchmark: spy(RISING, '2018-07-02'),
    };
    it('12:55 is inside', () => expectAllowed(entry({ ...early, now: '2018-07-03T16:55:00.000Z' }), 58));
    it('12:56 is outside', () =>
      expectRefused(entry({ ...early, now: '2018-07-03T16:56:00.000Z' }), 'OUTSIDE_TRADE_WINDOW', 'window 2018-07-03T13:35:00.000Z..2018-07-03T16:55:00.000Z'));
  });
});

describe('SHARPE_GATE (63 sessions: reduce below 0.5, block at or below 0)', () => {
  it('n/a with fewer than 64 equity points: full size', () => {
    const curve = sharpeCurve(-1).slice(1); // 63 points, a falling curve
    const r = run(withCurve(curve));
    expect(reading(r, 'SHARPE_GATE')).toMatchObject({ status: 'n/a', detail: 'needs 64 equity points, has 63' });
    expectAllowed(firstEntry(r), 58);
  });

  it('Sharpe 0.51: full size (inside)', () => {
    const curve = sharpeCurve(0.51);
    expect(rollingSharpe(curve, 63)).toBeCloseTo(0.51, 6);
    const r = run(withCurve(curve));
    expect(reading(r, 'SHARPE_GATE')!.status).toBe('ok');
    expectAllowed(firstEntry(r), 58);
  });

  it('Sharpe 0.49: size x 0.5', () => {
    const r = run(withCurve(sharpeCurve(0.49)));
    expect(reading(r, 'SHARPE_GATE')).toMatchObject({ status: 'reduce', detail: 'SHARPE_GATE: rolling 63-session Sharpe 0.49 < 0.5; size x 0.5' });
    expectAllowed(firstEntry(r), 29);
  });

  it('Sharpe 0.01: still only reduced (inside the block)', () => expectAllowed(entry(withCurve(sharpeCurve(0.01))), 29));

  it('Sharpe -0.01: refused', () => {
    expectRefused(entry(withCurve(sharpeCurve(-0.01))), 'SHARPE_GATE', 'SHARPE_GATE: rolling 63-session Sharpe -0.01 <= 0; no new entries');
  });

  it('exact thresholds: Sharpe == reduce threshold is not reduced; Sharpe == stop threshold blocks', () => {
    const curve = sharpeCurve(0.3);
    const s = rollingSharpe(curve, 63)!;
    expectAllowed(entry({ ...withCurve(curve), limits: { sharpeReduceBelow: s, sharpeStopAtOrBelow: s - 1 } }), 58);
    expectRefused(entry({ ...withCurve(curve), limits: { sharpeReduceBelow: s + 1, sharpeStopAtOrBelow: s } }), 'SHARPE_GATE');
  });
});

describe('ULCER_GATE (Ulcer index > 10 over 63 sessions blocks)', () => {
  it('n/a with fewer than 63 equity points', () => {
    const r = run(withCurve(drawdownCurve(0.4).slice(-62)));
    expect(reading(r, 'ULCER_GATE')!.status).toBe('n/a');
  });

  it('Ulcer 9.9: allowed (inside); 10.1: refused', () => {
    const inside = ulcerCurve(9.9);
    const outside = ulcerCurve(10.1);
    expect(ulcerIndex(inside, 63)).toBeCloseTo(9.9, 6);
    // the Sharpe of these curves is high, so the ulcer gate is the only one in play
    expect(rollingSharpe(outside, 63)!).toBeGreaterThan(0.5);
    const ok = run(withCurve(inside));
    expect(reading(ok, 'ULCER_GATE')).toMatchObject({ status: 'ok', detail: 'Ulcer index 9.90 <= 10' });
    expectAllowed(firstEntry(ok), 58);
    expectRefused(entry(withCurve(outside)), 'ULCER_GATE', 'ULCER_GATE: Ulcer index 10.10 > 10 over 63 sessions; no new entries');
  });

  it('exact threshold: Ulcer == maxUlcerIndex is allowed', () => {
    const curve = drawdownCurve(0.3);
    const u = ulcerIndex(curve, 63)!;
    expectAllowed(entry({ ...withCurve(curve), limits: { maxUlcerIndex: u } }), 58);
    expectRefused(entry({ ...withCurve(curve), limits: { maxUlcerIndex: u * (1 - 1e-9) } }), 'ULCER_GATE');
  });
});

describe('REGIME_FILTER (risk-off = below SMA200 AND 21d vol above its 1y median; fails closed)', () => {
  it('below the SMA with calm volatility: allowed', () => {
    const closes = regimeSeries(-0.01, 0.002);
    expect(regimeFilter(closes)).toMatchObject({ ok: true, belowSma: true, volAboveMedian: false });
    expectAllowed(entry({ benchmark: spy(closes) }), 58);
  });

  it('volatile but above the SMA: allowed', () => {
    const closes = regimeSeries(0.005, 0.03);
    expect(regimeFilter(closes)).toMatchObject({ ok: true, belowSma: false, volAboveMedian: true });
    expectAllowed(entry({ benchmark: spy(closes) }), 58);
  });

  it('below the SMA AND volatile: refused with both values', () => {
    const closes = regimeSeries(-0.01, 0.03);
    const regime = regimeFilter(closes);
    expect(regime).toMatchObject({ ok: true, riskOff: true });
    if (!regime.ok) throw new Error('unreachable');
    expectRefused(
      entry({ benchmark: spy(closes) }),
      'REGIME_FILTER',
      `REGIME_FILTER: SPY ${regime.close.toFixed(2)} < SMA200 ${regime.sma.toFixed(2)} and 21d vol`,
      '> 1y median',
      'no new entries',
    );
  });

  it('a benchmark bar one session old is fresh; two sessions old fails closed', () => {
    expectAllowed(entry({ benchmark: spy(RISING, '2018-02-05') }), 58);
    expectRefused(entry({ benchmark: spy(RISING, '2018-02-02') }), 'REGIME_FILTER', 'REGIME_FILTER: cannot evaluate (SPY last bar 2018-02-02 is stale); no new entries');
  });

  it('a missing benchmark fails closed', () => {
    expectRefused(entry({ benchmark: null }), 'REGIME_FILTER', 'REGIME_FILTER: cannot evaluate (SPY has no usable bars)');
  });

  it('273 closes are enough; 272 fail closed', () => {
    expectAllowed(entry({ benchmark: spy(RISING.slice(-273)) }), 58);
    expectRefused(entry({ benchmark: spy(RISING.slice(-272)) }), 'REGIME_FILTER', 'regime filter needs 273 closes', 'got 272');
  });

  it('regimeFilter false ignores the benchmark', () => expectAllowed(entry({ benchmark: null, limits: { regimeFilter: false } }), 58));
});

describe('invariants', () => {
  it('LONG_ONLY: a buy is allowed; a sell-to-open is refused', () => {
    expectAllowed(entry(), 58);
    const d = entry({ intents: [buy('AAPL', { side: 'sell' })] });
    expectRefused(d, 'LONG_ONLY', 'LONG_ONLY: AAPL sell-to-open would open a short; the strategy is long only');
    expect(d.action).toBe('sell_to_open');
  });

  it('FORBID_REVERSE_WITHOUT_FLAT (longOnly false): same side allowed, opposite side refused', () => {
    const limits = { longOnly: false, onePositionPerSymbol: false };
    const positions = [position('AAPL', '10', '100')];
    expectAllowed(entry({ account: { positions }, limits }), 58);
    expectRefused(
      entry({ account: { positions }, limits, intents: [buy('AAPL', { side: 'sell' })] }),
      'FORBID_REVERSE_WITHOUT_FLAT',
      'FORBID_REVERSE_WITHOUT_FLAT: AAPL sell entry against a held 10 sh position; close it first',
    );
    expectRefused(
      entry({ account: { positions: [position('AAPL', '-10', '100')] }, limits }),
      'FORBID_REVERSE_WITHOUT_FLAT',
      'AAPL buy entry against a held -10 sh position',
    );
  });

  it('ONE_POSITION_PER_SYMBOL: refuses a held symbol and one with an open buy; other symbols are fine', () => {
    expectAllowed(entry({ account: { positions: [position('MSFT', '10', '100')], openOrders: [openBuy('XOM', '5', '100')] } }), 58);
    expectRefused(entry({ account: { positions: [position('AAPL', '10', '100', '90')] } }), 'ONE_POSITION_PER_SYMBOL', 'ONE_POSITION_PER_SYMBOL: AAPL already held (10 sh)');
    expectRefused(entry({ account: { openOrders: [openBuy('AAPL', '5', '100')] } }), 'ONE_POSITION_PER_SYMBOL', 'ONE_POSITION_PER_SYMBOL: AAPL already has an open buy order');
    // an open SELL in the symbol is not a pending entry
    expectAllowed(entry({ account: { openOrders: [{ ...openBuy('AAPL', '5', '100'), side: 'sell' }] } }), 58);
  });

  it('FORBID_ADD_TO_LOSER (onePositionPerSymbol false): last == average allowed, one cent below refused', () => {
    const limits = { onePositionPerSymbol: false };
    // held 10 x 100 = 1,000: the position room is 10,000 - 1,000 = 9,000 -> 89 sh, the risk budget still binds at 58
    expectAllowed(entry({ account: { positions: [position('AAPL', '10', '100', '100')] }, limits }), 58);
    expectRefused(
      entry({ account: { positions: [position('AAPL', '10', '99.99', '100')] }, limits }),
      'FORBID_ADD_TO_LOSER',
      'FORBID_ADD_TO_LOSER: AAPL at 99.99 is below its average entry 100; no adding to a loser',
    );
  });
});

describe('STALE_DATA (the last bar must be from the previous session)', () => {
  it('a bar of the previous session is fresh; one session older is stale', () => {
    expectAllowed(entry(), 58);
    expectRefused(
      entry({ market: { AAPL: mkt({ lastBarDate: '2018-02-02' }) } }),
      'STALE_DATA',
      'STALE_DATA: AAPL last bar 2018-02-02 is older than 1 session(s) (needs >= 2018-02-05)',
    );
  });

  it('maxDataAgeSessions 2 accepts one session older, not two', () => {
    expectAllowed(entry({ market: { AAPL: mkt({ lastBarDate: '2018-02-02' }) }, limits: { maxDataAgeSessions: 2 } }), 58);
    expectRefused(entry({ market: { AAPL: mkt({ lastBarDate: '2018-02-01' }) }, limits: { maxDataAgeSessions: 2 } }), 'STALE_DATA', 'older than 2 session(s) (needs >= 2018-02-02)');
  });

  it('no market data, or too few prior sessions to tell, fails closed', () => {
    expectRefused(entry({ market: {} }), 'STALE_DATA', 'STALE_DATA: AAPL has no market data this run');
    expectRefused(entry({ priorSessions: [], benchmark: null, limits: { regimeFilter: false } }), 'STALE_DATA');
  });
});

describe('MAX_OPEN_POSITIONS (10, held + pending + allowed this run)', () => {
  const held = (n: number) => Array.from({ length: n }, (_, i) => position(`H${i}`, '1', '10'));
  it('9 held: allowed (inside)', () => expectAllowed(entry({ account: { positions: held(9) } }), 58));
  it('9 held + 1 pending: refused', () => {
    expectRefused(entry({ account: { positions: held(9), openOrders: [openBuy('PEND', '1', '10')] } }), 'MAX_OPEN_POSITIONS', 'MAX_OPEN_POSITIONS: 10 held or pending >= limit 10');
  });
  it('entries allowed this run count', () => {
    const r = run({ account: { positions: held(8) }, intents: [buy('AAPL'), buy('XOM'), buy('JPM')] });
    expect(entries(r).map((d) => d.allowed)).toEqual([true, true, false]);
    expectRefused(entries(r)[2]!, 'MAX_OPEN_POSITIONS', '10 held or pending >= limit 10');
  });
});

describe('sizing rules', () => {
  it('RISK_BUDGET: a risk per share of exactly the 500 USD budget buys 1 sh; one cent more refuses', () => {
    // limit 1000 x 1.005 = 1005; stop 1005 - 2 x 250 = 505 -> risk/share 500 -> floor(500 / 500) = 1
    expectAllowed(entry({ market: { AAPL: mkt({ lastClose: 1000, atr14: 250 }) } }), 1);
    // stop 1005 - 2 x 250.005 = 504.99 -> risk/share 500.01 > 500
    const d = entry({ market: { AAPL: mkt({ lastClose: 1000, atr14: 250.005 }) } });
    expectRefused(d, 'RISK_BUDGET', 'RISK_BUDGET: risk budget 500.00 USD (0.50% NAV x 1) < risk per share 500.01 USD (2 x ATR stop)');
    expect(d.plan).toMatchObject({ qtyByRisk: 0, stopLossPrice: '504.99' });
  });

  it('RISK_BUDGET: a stop at or below zero cannot be sized', () => {
    expectRefused(entry({ market: { AAPL: mkt({ lastClose: 10, atr14: 6 }) } }), 'RISK_BUDGET', 'RISK_BUDGET: AAPL cannot be sized: stop would be');
  });

  it('RISK_BUDGET: stopMode percent', () => {
    // limit 100.5, stop 100.5 x 0.95 = 95.475 -> 95.47; risk/share 5.03 -> floor(500 / 5.03) = 99 -> capped at 10% NAV: 99 sh (9,949.50)
    const d = entry({ limits: { stopMode: 'percent', stopPercent: 0.05 } });
    expectAllowed(d, 99);
    expect(d.plan!.stopLossPrice).toBe('95.47');
  });

  it('MAX_POSITION_PCT: one share of exactly 10% NAV is allowed; one cent more refuses', () => {
    // 9950.25 x 1.005 = 10000.00125 -> limit 10000.00 = 10.0% of 100,000
    expectAllowed(entry({ market: { AAPL: mkt({ lastClose: 9950.25, atr14: 1 }) } }), 1);
    // 9950.26 x 1.005 = 10000.0113 -> limit 10000.01
    expectRefused(entry({ market: { AAPL: mkt({ lastClose: 9950.26, atr14: 1 }) } }), 'MAX_POSITION_PCT', 'MAX_POSITION_PCT: AAPL 1 sh at 10000.01 = 10.0% NAV > 10.0%');
  });

  it('MAX_POSITION_PCT: caps the size below the risk budget and says so', () => {
    // ATR 0.1: risk/share 0.20 -> 2,500 sh by risk; 10,000 / 100.5 -> 99 sh
    const d = entry({ market: { AAPL: mkt({ atr14: 0.1 }) } });
    expectAllowed(d, 99);
    expect(d.reason).toContain('(capped by MAX_POSITION_PCT)');
  });

  it('MAX_POSITION_PCT: a held position counts (onePositionPerSymbol false)', () => {
    const limits = { onePositionPerSymbol: false };
    // held 9,899.50 -> room 100.50 -> 1 sh at 100.5
    expectAllowed(entry({ account: { positions: [position('AAPL', '1', '9899.5')] }, limits }), 1);
    expectRefused(
      entry({ account: { positions: [position('AAPL', '1', '9899.51')] }, limits }),
      'MAX_POSITION_PCT',
      'MAX_POSITION_PCT: AAPL 9,899.51 USD held + 1 sh at 100.5 = 10.0% NAV > 10.0%',
    );
  });

  it('CASH_BUFFER: 100.50 USD above the 3,000 buffer buys 1 sh at 100.5; 100.49 refuses', () => {
    const d = entry({ account: { cash: '3100.5' } });
    expectAllowed(d, 1);
    expect(d.reason).toContain('(capped by CASH_BUFFER)');
    expectRefused(entry({ account: { cash: '3100.49' } }), 'CASH_BUFFER', 'CASH_BUFFER: 100.49 USD free after the 3.0% NAV cash buffer buys < 1 share at 100.5');
  });

  it('CASH_BUFFER: open buys reserve their unfilled remainder', () => {
    // 9,100.50 cash - 60 x 100 reserved = 3,100.50 -> 1 sh
    const r = run({ account: { cash: '9100.5', openOrders: [openBuy('XOM', '60', '100')] } });
    expect(r.reservedCash).toBe('6000');
    expectAllowed(firstEntry(r), 1);
    // 10 of the 60 filled: 50 x 100 = 5,000 reserved -> 4,100.50 - 3,000 = 1,100.50 -> 10 sh
    const partial = run({ account: { cash: '9100.5', openOrders: [openBuy('XOM', '60', '100', '10')] } });
    expect(partial.reservedCash).toBe('5000');
    expectAllowed(firstEntry(partial), 10);
    // a market buy is valued at the last close (100)
    const market = run({ account: { cash: '9100.5', openOrders: [openBuy('XOM', '60', null)] } });
    expect(market.reservedCash).toBe('6000');
    expectRefused(entry({ account: { cash: '9100.49', openOrders: [openBuy('XOM', '60', '100')] } }), 'CASH_BUFFER', '100.49 USD free');
  });

  it('later entries of the run see the cash taken by earlier ones', () => {
    // 20,000 cash - 3,000 buffer = 17,000: 58 + 58 sh (11,658), then 5,342 / 100.5 -> 53 sh, then 15.50 left -> refused
    const r = run({ account: { cash: '20000' }, intents: [buy('AAPL'), buy('XOM'), buy('JPM'), buy('MSFT')] });
    expect(entries(r).map((d) => d.qty)).toEqual(['58', '58', '53', null]);
    expectRefused(entries(r)[3]!, 'CASH_BUFFER', '15.50 USD free');
  });

  it('MAX_ORDER_NOTIONAL: a cap of 100.50 buys 1 sh; 100.49 refuses; 5,000 cuts to 49 sh', () => {
    expectAllowed(entry({ limits: { maxOrderNotional: 100.5 } }), 1);
    expectRefused(entry({ limits: { maxOrderNotional: 100.49 } }), 'MAX_ORDER_NOTIONAL', 'MAX_ORDER_NOTIONAL: AAPL 1 sh at 100.5 USD > max order notional 100.49 USD');
    const d = entry({ limits: { maxOrderNotional: 5000 } });
    expectAllowed(d, 49); // floor(5000 / 100.5) = 49
    expect(d.reason).toContain('(capped by MAX_ORDER_NOTIONAL)');
  });

  it('MAX_GROSS_EXPOSURE (20% NAV): 19,899.50 held leaves room for 1 sh; 19,899.51 refuses', () => {
    const limits = { maxGrossExposureFraction: 0.2 };
    expectAllowed(entry({ account: { positions: [position('XOM', '100', '198.995')] }, limits }), 1);
    expectRefused(
      entry({ account: { positions: [position('XOM', '100', '198.9951')] }, limits }),
      'MAX_GROSS_EXPOSURE',
      'MAX_GROSS_EXPOSURE: gross 19.9% NAV + 1 sh AAPL (0.1%) > 20.0%',
    );
    // a pending buy counts as exposure too
    expectRefused(entry({ account: { openOrders: [openBuy('XOM', '1', '19899.51')] }, limits }), 'MAX_GROSS_EXPOSURE');
    // and so does a short, by its absolute value
    expectRefused(entry({ account: { positions: [position('XOM', '-100', '198.9951')] }, limits }), 'MAX_GROSS_EXPOSURE');
  });

  it('CATEGORY_CONCENTRATION (30% NAV): MSFT 29,899.50 leaves room for 1 sh AAPL (same GICS sector); 29,899.51 refuses', () => {
    expectAllowed(entry({ account: { positions: [position('MSFT', '1', '29899.5')] } }), 1);
    expectRefused(
      entry({ account: { positions: [position('MSFT', '1', '29899.51')] } }),
      'CATEGORY_CONCENTRATION',
      'CATEGORY_CONCENTRATION: Information Technology 29.9% NAV + 1 sh AAPL (0.1%) > 30.0%',
    );
    // another sector does not count
    expectAllowed(entry({ account: { positions: [position('XOM', '1', '29899.51')] } }), 58);
  });

  it('CATEGORY_CONCENTRATION: categoryMap overrides the GICS map', () => {
    const positions = [position('MSFT', '1', '29899.51')];
    expectAllowed(entry({ account: { positions }, limits: { categoryMap: { AAPL: 'Devices' } } }), 58);
    expectRefused(
      entry({ account: { positions: [position('XOM', '1', '29899.51')] }, limits: { categoryMap: { XOM: 'Information Technology' } } }),
      'CATEGORY_CONCENTRATION',
      'Information Technology 29.9% NAV',
    );
    expectRefused(entry({ account: { positions }, limits: { categoryMap: { AAPL: 'Big', MSFT: 'Big' } } }), 'CATEGORY_CONCENTRATION', 'Big 29.9% NAV');
  });

  it('CATEGORY_CONCENTRATION: entries of the run add up (10% cap)', () => {
    // AAPL 58 sh = 5,829; MSFT (same sector) room 10,000 - 5,829 = 4,171 -> 41 sh; XOM (Energy) full 58
    const r = run({ limits: { maxCategoryFraction: 0.1 }, intents: [buy('AAPL'), buy('MSFT'), buy('XOM')] });
    expect(entries(r).map((d) => d.qty)).toEqual(['58', '41', '58']);
    expect(entries(r)[1]!.reason).toContain('(capped by CATEGORY_CONCENTRATION)');
  });

  it('MIN_NOTIONAL: 5,829.00 meets a 5,829 minimum; 5,829.01 refuses', () => {
    expectAllowed(entry({ limits: { minOrderNotional: 5829 } }), 58);
    expectRefused(entry({ limits: { minOrderNotional: 5829.01 } }), 'MIN_NOTIONAL', 'MIN_NOTIONAL: AAPL 58 sh x 100.5 = 5,829.00 USD < minimum 5,829.01 USD');
  });

  it('a proposed qty is kept when smaller (floored), cut when larger, and 0 is refused', () => {
    expectAllowed(entry({ intents: [buy('AAPL', { qty: '10.7' })] }), 10);
    const cut = entry({ intents: [buy('AAPL', { qty: '100' })] });
    expectAllowed(cut, 58);
    expect(cut.adjustedQty).toBe('58');
    expectRefused(entry({ intents: [buy('AAPL', { qty: '0' })] }), 'MIN_NOTIONAL', 'AAPL 0 sh x 100.5 = 0.00 USD < minimum 100.00 USD');
  });
});

describe('pre-trade sanity', () => {
  it('PRICE_DEVIATION: a quote 10% from the close is allowed; one cent more refuses', () => {
    expectAllowed(entry({ market: { AAPL: mkt({ quote: 110 }) } }), 58);
    expectAllowed(entry({ market: { AAPL: mkt({ quote: 90 }) } }), 58);
    expectRefused(entry({ market: { AAPL: mkt({ quote: 110.01 }) } }), 'PRICE_DEVIATION', 'PRICE_DEVIATION: AAPL quote 110.01 is 10.01% from the last close 100 > 10.0%');
    expectRefused(entry({ market: { AAPL: mkt({ quote: 89.99 }) } }), 'PRICE_DEVIATION', 'quote 89.99 is 10.01%');
  });

  it('PRICE_DEVIATION: the limit price is checked too', () => {
    // 900 bps: limit 109 = 9% from 100; 901 bps: 109.01 = 9.01% > 9%
    expectAllowed(entry({ limits: { entryLimitBps: 900, maxPriceDeviationFraction: 0.09 } }), 58);
    expectRefused(entry({ limits: { entryLimitBps: 901, maxPriceDeviationFraction: 0.09 } }), 'PRICE_DEVIATION', 'AAPL limit 109.01 is 9.01% from the last close 100 > 9.0%');
  });

  it('LIQUIDITY: 58 sh = exactly 5% of ADV 1,160 is allowed; 5% of 1,140 is 57 sh, one fewer than 58', () => {
    expectAllowed(entry({ market: { AAPL: mkt({ adv20: 1160 }) } }), 58);
    expectRefused(entry({ market: { AAPL: mkt({ adv20: 1140 }) } }), 'LIQUIDITY', 'LIQUIDITY: AAPL 58 sh = 5.09% of ADV20 1140 sh > 5.0%');
  });

  it('LIQUIDITY: an unknown (or zero) ADV refuses', () => {
    expectRefused(entry({ market: { AAPL: mkt({ adv20: null }) } }), 'LIQUIDITY', 'LIQUIDITY: AAPL has no 20-day average daily volume; cannot check 58 sh against 5.0% ADV');
    expectRefused(entry({ market: { AAPL: mkt({ adv20: 0 }) } }), 'LIQUIDITY', 'has no 20-day average daily volume');
  });

  it('FAT_FINGER: 5,829 = 5 x a median of 1,165.80 is allowed; a median of 1,165.79 refuses', () => {
    expectAllowed(entry({ history: { recentEntryNotionals: ['1', '1165.8', '99999', '1165.8', '2'] } }), 58);
    expectRefused(
      entry({ history: { recentEntryNotionals: Array(5).fill('1165.79') } }),
      'FAT_FINGER',
      'FAT_FINGER: AAPL notional 5,829.00 USD > 5 x median entry notional 1,165.79 USD',
    );
  });

  it('FAT_FINGER: needs fatFingerMinHistory (5) notionals', () => {
    expectAllowed(entry({ history: { recentEntryNotionals: Array(4).fill('1') } }), 58);
    expectRefused(entry({ history: { recentEntryNotionals: Array(5).fill('1') } }), 'FAT_FINGER');
  });
});

describe('exits', () => {
  const held = { positions: [position('MSFT', '10', '100'), position('XOM', '-5', '100')] };
  const exitsOf = (over: Over) => exits(run({ account: held, ...over }));

  it('EXIT: a sell up to the long is allowed in full', () => {
    const [d] = exitsOf({ intents: [exit('MSFT', '10')] });
    expect(d).toMatchObject({ kind: 'exit', action: 'sell_to_close', allowed: true, rule: 'EXIT', qty: '10', purpose: 'stop_loss', reason: 'EXIT: sell 10 MSFT to close (stop_loss: stop hit)' });
    expect(d!.adjustedQty).toBeUndefined();
    expect(exitsOf({ intents: [exit('MSFT', '4')] })[0]).toMatchObject({ allowed: true, rule: 'EXIT', qty: '4' });
    expect(exitsOf({ intents: [exit('XOM', '5', 'buy')] })[0]).toMatchObject({ allowed: true, rule: 'EXIT', action: 'buy_to_close', qty: '5' });
  });

  it('NO_NAKED_SHORT: an exit larger than the position is cut to it', () => {
    expect(exitsOf({ intents: [exit('MSFT', '10.5')] })[0]).toEqual({
      symbol: 'MSFT',
      kind: 'exit',
      side: 'sell',
      action: 'sell_to_close',
      purpose: 'stop_loss',
      allowed: true,
      rule: 'NO_NAKED_SHORT',
      qty: '10',
      adjustedQty: '10',
      reason: 'NO_NAKED_SHORT: sell 10.5 MSFT > 10 held; cut to 10 (stop_loss: stop hit)',
    });
    expect(exitsOf({ intents: [exit('XOM', '7', 'buy')] })[0]).toMatchObject({ allowed: true, rule: 'NO_NAKED_SHORT', qty: '5' });
  });

  it('NO_POSITION: no position, the wrong side, or a zero qty', () => {
    expect(exitsOf({ intents: [exit('AAPL', '5')] })[0]).toMatchObject({ allowed: false, rule: 'NO_POSITION', qty: null, reason: 'NO_POSITION: AAPL sell 5 would not reduce a position (held 0 sh)' });
    expect(exitsOf({ intents: [exit('MSFT', '5', 'buy')] })[0]).toMatchObject({ allowed: false, rule: 'NO_POSITION', reason: 'NO_POSITION: MSFT buy 5 would not reduce a position (held 10 sh)' });
    expect(exitsOf({ intents: [exit('XOM', '1', 'sell')] })[0]).toMatchObject({ allowed: false, rule: 'NO_POSITION' });
    expect(exitsOf({ intents: [exit('MSFT', '0')] })[0]).toMatchObject({ allowed: false, rule: 'NO_POSITION' });
  });

  const t = (n: number) => `2018-02-05T${15 + n}:00:00.000Z`;
  it.each<[string, Over, RiskRule]>([
    ['latch HALTED', { latch: { state: 'HALTED', cause: 'RECONCILIATION_MISMATCH: x', since: '2018-02-05T21:00:00.000Z' } }, 'TRADING_HALTED'],
    ['latch REDUCING', { latch: { state: 'REDUCING', cause: 'RECONCILIATION_MISMATCH: x', since: '2018-02-05T21:00:00.000Z' } }, 'TRADING_HALTED'],
    ['kill switch HALTED', { killSwitch: interpretKillSwitch({ ok: true, value: 'HALTED' }) }, 'KILL_SWITCH'],
    ['kill switch REDUCE_ONLY', { killSwitch: interpretKillSwitch({ ok: true, value: 'REDUCE_ONLY' }) }, 'KILL_SWITCH'],
    ['kill switch unreadable', { killSwitch: interpretKillSwitch({ ok: false, error: 'timeout' }) }, 'KILL_SWITCH'],
    ['outside the trade window', { now: '2018-02-06T20:59:00.000Z' }, 'OUTSIDE_TRADE_WINDOW'],
    ['before the open', { now: '2018-02-06T13:00:00.000Z' }, 'OUTSIDE_TRADE_WINDOW'],
    ['market closed', { session: null }, 'MARKET_CLOSED'],
    ['day locked', { dayLock: { date: '2018-02-06', cause: 'FLATTENED: x', since: '2018-02-06T14:35:00.000Z' } }, 'DAY_LOCKED'],
    ['MAX_DRAWDOWN', { account: { ...held, equity: '70000', cash: '70000' }, memory: mem() }, 'MAX_DRAWDOWN'],
    ['DAILY_LOSS_LIMIT', { account: { ...held, equity: '90000', cash: '90000' }, history: { sessionStartEquity: '100000' } }, 'DAILY_LOSS_LIMIT'],
    ['LOSS_STREAK', { history: { closedTrades: [loss(t(0)), loss(t(1)), loss(t(2))] } }, 'LOSS_STREAK'],
    ['COOLING_OFF', { killSwitch: interpretKillSwitch({ ok: true, value: 'ARMED', lastModified: NOW }) }, 'COOLING_OFF'],
    ['REGIME_FILTER', { benchmark: null }, 'REGIME_FILTER'],
    ['SHARPE_GATE', withCurve(sharpeCurve(-1)), 'SHARPE_GATE'],
    ['STALE_DATA', { market: {} }, 'STALE_DATA'],
  ])('EXIT is allowed in full when %s (and the entry is refused)', (_, over, rule) => {
    const r = run({ intents: [buy('AAPL'), exit('MSFT', '10'), exit('XOM', '5', 'buy')], ...over, account: { ...held, ...over.account } });
    expectRefused(firstEntry(r), rule);
    const byId = Object.fromEntries(exits(r).map((d) => [d.symbol, d]));
    expect(byId.MSFT).toMatchObject({ allowed: true, rule: 'EXIT', qty: '10', purpose: 'stop_loss' });
    expect(byId.XOM).toMatchObject({ allowed: true, rule: 'EXIT', qty: '5', action: 'buy_to_close' });
  });
});

describe('size reductions multiply', () => {
  const t = (n: number) => `2018-02-05T${15 + n}:00:00.000Z`;
  const twoLosses = [loss(t(0)), loss(t(1))];

  it('DAILY_LOSS_SOFT + LOSS_STREAK: x 0.25', () => {
    // 98,500 x 0.5% x 0.25 = 123.125 / 8.6 -> 14 sh
    const r = run({ account: { equity: '98500', cash: '98500' }, history: { sessionStartEquity: '100000', closedTrades: twoLosses } });
    expect(r.sizeMultiplier).toBe(0.25);
    expectAllowed(firstEntry(r), 14);
    expect(firstEntry(r).reason).toContain('size x 0.25 (DAILY_LOSS_SOFT, LOSS_STREAK)');
    expect(firstEntry(r).plan!.riskBudget).toBe('123.125');
  });

  it('+ DRAWDOWN_REDUCE: x 0.125; + SHARPE_GATE: x 0.0625', () => {
    // HWM 110,000: 98,500 is 10.45% below. 492.5 x 0.125 = 61.5625 / 8.6 -> 7 sh
    const three = run({ account: { equity: '98500', cash: '98500' }, history: { sessionStartEquity: '100000', closedTrades: twoLosses }, memory: mem({ highWaterMark: '110000' }) });
    expect(three.sizeMultiplier).toBe(0.125);
    expectAllowed(firstEntry(three), 7);
    // Sharpe 0.3 on a curve ending at 100,000 (session start 101,600 -> -1.57%): 500 x 0.0625 = 31.25 / 8.6 -> 3 sh
    const curve = sharpeCurve(0.3);
    const four = run({ ...withCurve(curve), history: { equityCurve: curve.slice(0, -1), sessionStartEquity: '101600', closedTrades: twoLosses }, memory: mem({ highWaterMark: '112000' }) });
    expect(four.sizeMultiplier).toBe(0.0625);
    expectAllowed(firstEntry(four), 3);
  });

  it('reducedSizeFactor sets every rung', () => {
    // 0.8 x 0.8 = 0.64: 500 x 0.64 = 320 / 8.6 -> 37 sh
    const r = run({ account: { equity: '100000' }, history: { sessionStartEquity: '101600', closedTrades: twoLosses }, limits: { reducedSizeFactor: 0.8 } });
    expect(r.sizeMultiplier).toBeCloseTo(0.64, 12);
    expectAllowed(firstEntry(r), 37);
  });
});

describe('memory: high-water mark and equity milestones', () => {
  it('a new account starts its HWM and milestone baseline at the current equity', () => {
    const r = run();
    expect(r.memory).toEqual({ highWaterMark: '100000', highWaterMarkAt: NOW, milestoneBaseline: '100000', milestoneLevel: 0, drawdownRung: 'none' });
  });

  it('the HWM follows a new high and resets the drawdown rung; a lower equity keeps it', () => {
    const prev = mem({ drawdownRung: 'reduce' });
    const up = run({ account: { equity: '100001' }, memory: prev });
    expect(up.memory).toMatchObject({ highWaterMark: '100001', highWaterMarkAt: NOW, drawdownRung: 'none' });
    const down = run({ account: { equity: '99999' }, memory: prev });
    expect(down.memory).toMatchObject({ highWaterMark: '100000', highWaterMarkAt: prev.highWaterMarkAt, drawdownRung: 'reduce' });
    expect(down.metrics.drawdownFraction).toBeCloseTo(-0.00001, 12);
  });

  it('EQUITY_MILESTONE: 199,999.99 no; 200,000 = 2 x the baseline alerts once (INFO)', () => {
    expect(alertsOf(run({ account: { equity: '199999.99' }, memory: mem() }), 'EQUITY_MILESTONE')).toEqual([]);
    const r = run({ account: { equity: '200000' }, memory: mem() });
    expect(alertsOf(r, 'EQUITY_MILESTONE')).toEqual([
      { severity: 'INFO', type: 'EQUITY_MILESTONE', message: 'EQUITY_MILESTONE: equity 200,000.00 USD reached 2 x the baseline 100,000.00 USD' },
    ]);
    expect(r.memory.milestoneLevel).toBe(1);
  });

  it('EQUITY_MILESTONE: not again after a drawdown and recovery; next at 4 x', () => {
    const first = run({ account: { equity: '200000' }, memory: mem() });
    const dip = run({ account: { equity: '150000' }, memory: first.memory });
    expect(alertsOf(dip, 'EQUITY_MILESTONE')).toEqual([]);
    expect(dip.memory.milestoneLevel).toBe(1);
    const back = run({ account: { equity: '200000' }, memory: dip.memory });
    expect(alertsOf(back, 'EQUITY_MILESTONE')).toEqual([]);
    const above = run({ account: { equity: '250000' }, memory: back.memory });
    expect(alertsOf(above, 'EQUITY_MILESTONE')).toEqual([]);
    const four = run({ account: { equity: '400000' }, memory: above.memory });
    expect(alertsOf(four, 'EQUITY_MILESTONE').map((a) => a.message)).toEqual(['EQUITY_MILESTONE: equity 400,000.00 USD reached 4 x the baseline 100,000.00 USD']);
    expect(four.memory.milestoneLevel).toBe(2);
  });

  it('EQUITY_MILESTONE: config milestoneBaseline is used for a new account', () => {
    const r = run({ limits: { milestoneBaseline: 50000 } });
    expect(r.memory.milestoneBaseline).toBe('50000');
    expect(alertsOf(r, 'EQUITY_MILESTONE')).toHaveLength(1);
  });
});

/** Gaps found while writing these tests, fixed in the kernel; each test pins the fix. */
describe('kernel gaps (fixed)', () => {
  // With onePositionPerSymbol false, a pending (unfilled) buy in the SAME symbol is not
  // counted against MAX_POSITION_PCT (heldValue only looks at positions). Pending AAPL buy 50 x 100.5 =
  // 5,025; a new AAPL entry is sized to 58 sh (5,829) -> 10,854 = 10.85% NAV once both fill, > 10%.
  // Expected: room 10,000 - 5,025 = 4,975 -> at most floor(4975 / 100.5) = 49 sh.
  it('MAX_POSITION_PCT counts a pending buy in the same symbol', () => {
    const d = entry({ account: { openOrders: [openBuy('AAPL', '50', '100.5')] }, limits: { onePositionPerSymbol: false } });
    expect(d.allowed).toBe(true);
    expect(Number(d.qty)).toBeLessThanOrEqual(49);
  });

  // (Not reachable from handlers/risk-check today: predict emits one score per symbol.)
  // two entry intents for the same symbol in one run are BOTH allowed (58 + 58 sh) although
  // onePositionPerSymbol is true: ONE_POSITION_PER_SYMBOL checks held/pendingBuys, not the entries
  // allowed earlier in the run (`occupied`). Expected: the second is refused ONE_POSITION_PER_SYMBOL.
  it('ONE_POSITION_PER_SYMBOL covers entries allowed earlier in the same run', () => {
    const r = run({ intents: [buy('AAPL'), buy('AAPL', { rank: 2 })] });
    expectAllowed(entries(r)[0]!, 58);
    expectRefused(entries(r)[1]!, 'ONE_POSITION_PER_SYMBOL');
  });

  // (Not reachable today: the handler sends at most one exit per symbol.) two exits of one
  // position are each capped at the position, not together. Held 10 MSFT; stop_loss sell 10 + take_profit
  // sell 10 -> both allowed with qty 10 = 20 sold, a naked short of 10. Expected: the second is cut
  // to what is left (0 -> NO_POSITION, or NO_NAKED_SHORT with qty 0).
  it('two exits of one position never sell more than the position together', () => {
    const r = run({ account: { positions: [position('MSFT', '10', '100')] }, intents: [exit('MSFT', '10'), exit('MSFT', '10', 'sell', 'take_profit')] });
    const sold = exits(r).filter((d) => d.allowed).reduce((s, d) => s + Number(d.qty), 0);
    expect(sold).toBeLessThanOrEqual(10);
  });

  // (Not reachable today: trade runs carry entries only.) when MAX_DRAWDOWN flattens, a
  // symbol that already has a (partial) exit intent gets no flatten exit, so it stays partly open.
  // Held MSFT 10 with a take_profit sell 4 -> only 4 sold. Expected: the whole 10 closed.
  it('the MAX_DRAWDOWN flatten closes the whole position even when a partial exit was proposed', () => {
    const r = run({ account: { equity: '70000', cash: '70000', positions: [position('MSFT', '10', '100')] }, memory: mem(), intents: [exit('MSFT', '4', 'sell', 'take_profit')] });
    expect(r.actions.flatten).not.toBeNull();
    const sold = exits(r).filter((d) => d.allowed && d.symbol === 'MSFT').reduce((s, d) => s + Number(d.qty), 0);
    expect(sold).toBe(10);
  });
});

describe('MAX_DRAWDOWN halt completes its flatten', () => {
  it('while the MAX_DRAWDOWN latch holds, a position still open is flattened again (even back above -20%)', () => {
    // Equity 85,000 is 15% below the 100,000 high-water mark: back above the -20% rung.
    const r = run({
      latch: { state: 'HALTED', cause: 'MAX_DRAWDOWN: equity 79,000.00 USD ...', since: '2018-02-05T14:45:00.000Z' },
      account: { equity: '85000', cash: '84000', positions: [position('MSFT', '10', '100')] },
      memory: mem(),
    });
    expect(r.actions.flatten?.cause).toBe('MAX_DRAWDOWN: completing the flatten latched at 2018-02-05T14:45:00.000Z; still open: MSFT');
    expect(r.actions.latch).toBeNull();
    expect(exits(r)).toEqual([expect.objectContaining({ symbol: 'MSFT', allowed: true, rule: 'EXIT', qty: '10', purpose: 'flatten' })]);
  });

  it('a MAX_DRAWDOWN latch with nothing open asks for no flatten', () => {
    const r = run({ latch: { state: 'HALTED', cause: 'MAX_DRAWDOWN: x', since: '2018-02-05T14:45:00.000Z' }, memory: mem() });
    expect(r.actions.flatten).toBeNull();
  });
});
