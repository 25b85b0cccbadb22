/**
 * Property tests of the risk kernel: for random portfolios, limits, market data and intents,
 * (a) the entries it approves never break a hard limit, and
 * (b) an exit no larger than its position is always allowed in full, whatever else the account says.
 *
 * Every expected sum is recomputed here from the input in Dec (money.ts), not read from the kernel.
 * Seeded globally (test/setup.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseStrategyConfig, type StrategyConfig } from '../../../../lambdas/core/config';
import { interpretKillSwitch, type KillSwitchStatus, type PersistedTradingState } from '../../../../lambdas/core/kill-switch';
import { Dec, dec } from '../../../../lambdas/core/money';
import {
  decideRisk,
  type AccountSnapshot,
  type DayLock,
  type EntryIntent,
  type ExitIntent,
  type MarketInfo,
  type RiskInput,
  type RiskMemory,
} from '../../../../lambdas/core/risk/kernel';
import { categoryOf } from '../../../../lambdas/core/risk/sectors';
import type { ClosedTrade } from '../../../../lambdas/core/trades';

const RUNS = 300;

const SESSION = { date: '2018-02-06', openUtc: '2018-02-06T14:30:00.000Z', closeUtc: '2018-02-06T21:00:00.000Z' };
const OPEN_MS = Date.parse(SESSION.openUtc);
const PRIOR = ['2018-01-31', '2018-02-01', '2018-02-02', '2018-02-05'];
const FRESH = '2018-02-05';
const STREAK_SINCE = '2018-02-05T14:30:00.000Z';
/** Five GICS sectors (see sectors.ts) and unclassified names. */
const POOL = ['AAPL', 'MSFT', 'INTC', 'JPM', 'BAC', 'GS', 'XOM', 'CVX', 'KO', 'PEP', 'ZZA', 'ZZB', 'ZZC', 'ZZD'] as const;
const RISING = Array.from({ length: 300 }, (_, i) => 250 * Math.exp(0.0005 * i));

const ARMED = (lastModified: string) => interpretKillSwitch({ ok: true, value: 'ARMED', lastModified });
const NOT_ARMED: KillSwitchStatus[] = [
  interpretKillSwitch({ ok: true, value: 'REDUCE_ONLY' }),
  interpretKillSwitch({ ok: true, value: 'HALTED' }),
  interpretKillSwitch({ ok: false, error: 'AccessDenied' }),
];

const num = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
/** A USD price with cents. */
const price = (min: number, max: number) => fc.integer({ min: min * 100, max: max * 100 }).map((c) => c / 100);
const weighted = <T>(...pairs: Array<[number, fc.Arbitrary<T>]>) => fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

/** Random limits within (a useful part of) their config ranges; the ordered pairs stay ordered. */
const limitsArb: fc.Arbitrary<StrategyConfig> = fc
  .record({
    riskPerTrade: num(0.001, 0.05),
    atrStopMultiple: num(0.5, 6),
    entryLimitBps: fc.integer({ min: 0, max: 200 }),
    maxOpenPositions: weighted([3, fc.integer({ min: 5, max: 15 })], [1, fc.integer({ min: 1, max: 15 })]),
    maxPositionFraction: num(0.01, 1),
    cashBufferFraction: weighted([3, num(0, 0.1)], [1, num(0, 0.5)]),
    stopMode: fc.constantFrom('atr' as const, 'percent' as const),
    stopPercent: num(0.01, 0.5),
    minOrderNotional: fc.integer({ min: 0, max: 2000 }),
    maxOrderNotional: fc.integer({ min: 50, max: 200_000 }),
    maxGrossExposureFraction: num(0.05, 4),
    maxCategoryFraction: num(0.01, 1),
    categoryMap: fc.dictionary(fc.constantFrom(...POOL), fc.constantFrom('Tech', 'Money', 'Other'), { maxKeys: 4 }),
    coolingOffMinutes: fc.integer({ min: 0, max: 120 }),
    dailyLossSoftFraction: num(0.005, 0.03),
    dailyLossGap: num(0.001, 0.03),
    lossStreakReduceAt: fc.integer({ min: 1, max: 3 }),
    lossStreakGap: fc.integer({ min: 0, max: 2 }),
    maxTradesPerDay: weighted([3, fc.integer({ min: 3, max: 10 })], [1, fc.integer({ min: 1, max: 10 })]),
    reducedSizeFactor: num(0.1, 0.9),
    drawdownReduceFraction: num(0.05, 0.15),
    drawdownGap: num(0.01, 0.2),
    regimeFilter: fc.boolean(),
    onePositionPerSymbol: fc.boolean(),
    longOnly: weighted([3, fc.constant(true)], [1, fc.constant(false)]),
    forbidAddToLoser: fc.boolean(),
    forbidReverseWithoutFlat: fc.boolean(),
    maxPriceDeviationFraction: num(0.01, 1),
    maxAdvFraction: num(0.001, 1),
    fatFingerMultiple: num(1.01, 20),
    fatFingerMinHistory: fc.integer({ min: 1, max: 6 }),
    maxDataAgeSessions: fc.integer({ min: 1, max: 3 }),
  })
  .map(({ dailyLossGap, lossStreakGap, drawdownGap, ...c }) =>
    parseStrategyConfig({
      ...c,
      dailyLossHardFraction: c.dailyLossSoftFraction + dailyLossGap,
      lossStreakStopAt: c.lossStreakReduceAt + lossStreakGap,
      drawdownHaltFraction: c.drawdownReduceFraction + drawdownGap,
    }),
  );

const marketArb: fc.Arbitrary<Record<string, MarketInfo>> = fc
  .tuple(
    ...POOL.map(() =>
      fc.record({
        lastClose: price(1, 1000),
        atrFraction: num(0.002, 0.1),
        fresh: weighted([15, fc.constant(true)], [1, fc.constant(false)]),
        adv20: weighted([1, fc.constant(null)], [8, fc.integer({ min: 0, max: 5_000_000 })]),
        quoteFactor: weighted([1, fc.constant(null)], [1, num(0.85, 1.15)]),
      }),
    ),
  )
  .map((infos) =>
    Object.fromEntries(
      infos.map((m, i) => [
        POOL[i]!,
        {
          lastClose: m.lastClose,
          lastBarDate: m.fresh ? FRESH : '2018-01-30',
          atr14: m.lastClose * m.atrFraction,
          adv20: m.adv20,
          ...(m.quoteFactor === null ? {} : { quote: Math.round(m.lastClose * m.quoteFactor * 100) / 100 }),
        },
      ]),
    ),
  );

const positionsArb = (opts: { shorts: boolean; fractional: boolean }) =>
  fc.uniqueArray(
    fc.record({
      symbol: fc.constantFrom(...POOL),
      units: fc.integer({ min: 1, max: opts.fractional ? 1_000_000 : 100 }),
      short: opts.shorts ? weighted([4, fc.constant(false)], [1, fc.constant(true)]) : fc.constant(false),
      last: price(1, 500),
      avgFactor: num(0.8, 1.2),
    }),
    { selector: (p) => p.symbol, maxLength: 6 },
  ).map((ps) =>
    ps.map((p) => {
      const qty = opts.fractional ? dec(p.units).div(10_000) : dec(p.units);
      return {
        symbol: p.symbol,
        qty: (p.short ? qty.neg() : qty).toString(),
        avgEntryPrice: dec(p.last).times(p.avgFactor).toDecimalPlaces(2).toString(),
        lastPrice: String(p.last),
      };
    }),
  );

const openOrdersArb = fc.array(
  fc.record({
    symbol: fc.constantFrom(...POOL),
    side: weighted([3, fc.constant('buy' as const)], [1, fc.constant('sell' as const)]),
    qty: fc.integer({ min: 1, max: 200 }),
    filled: fc.integer({ min: 0, max: 200 }),
    limitPrice: weighted([1, fc.constant(null)], [3, price(1, 500)]),
  }),
  { maxLength: 4 },
).map((os) =>
  os.map((o, i) => ({
    clientOrderId: `o${i}`,
    symbol: o.symbol,
    side: o.side,
    type: o.limitPrice === null ? ('market' as const) : ('limit' as const),
    qty: String(o.qty),
    filledQty: String(Math.min(o.filled, o.qty)),
    limitPrice: o.limitPrice === null ? null : String(o.limitPrice),
  })),
);

const entriesArb = fc.uniqueArray(
  fc.record({
    symbol: weighted([12, fc.constantFrom(...POOL)], [1, fc.constant('NODATA')]),
    side: weighted([5, fc.constant('buy' as const)], [1, fc.constant('sell' as const)]),
    qty: weighted([3, fc.constant(undefined)], [1, fc.integer({ min: 0, max: 1000 }).map(String)]),
  }),
  { selector: (e) => e.symbol, maxLength: 6 },
).map((es) => es.map((e, i): EntryIntent => ({ kind: 'entry', symbol: e.symbol, side: e.side, rank: i + 1, score: 1 / (i + 1), ...(e.qty === undefined ? {} : { qty: e.qty }) })));

const loss = (i: number, pnl: string): ClosedTrade => ({
  symbol: 'KO',
  qty: '1',
  entryPrice: '50',
  exitPrice: '50',
  entryAt: '2018-02-01T15:00:00.000Z',
  entrySessionDate: '2018-02-01',
  exitAt: new Date(Date.parse(STREAK_SINCE) + (i + 1) * 3_600_000).toISOString(),
  exitSessionDate: '2018-02-05',
  costBasis: '50',
  pnl,
  returnFraction: '0',
  exitPurpose: 'stop_loss',
  exitClientOrderId: `t${i}`,
});

/**
 * Everything around the portfolio: kill switch, latch, day lock, session and clock, history, memory,
 * benchmark. `calm` contexts pass every account-level rule (so sizing and exposure get exercised);
 * the others are random and mostly block.
 */
const anyContextArb = fc.record({
  armed: fc.boolean(),
  notArmed: fc.constantFrom(...NOT_ARMED),
  ksAgeMinutes: fc.integer({ min: 0, max: 3000 }),
  latch: fc.constantFrom<PersistedTradingState['state']>('ACTIVE', 'REDUCING', 'HALTED'),
  dayLock: fc.constantFrom<string | null>(null, '2018-02-05', '2018-02-06'),
  session: fc.boolean(),
  nowMinutes: fc.integer({ min: -30, max: 420 }),
  startFactor: num(0.95, 1.05),
  hwmFactor: fc.option(num(1, 1.4)),
  trades: fc.array(fc.constantFrom<string>('-10', '5', '0'), { maxLength: 4 }),
  entriesToday: fc.integer({ min: 0, max: 9 }),
  notionals: fc.array(fc.integer({ min: 100, max: 50_000 }).map(String), { maxLength: 8 }),
  benchmark: fc.constantFrom<'fresh' | 'stale' | 'none'>('fresh', 'stale', 'none'),
  curve: fc.oneof(fc.constant([] as number[]), fc.array(num(0.97, 1.04), { minLength: 60, maxLength: 70 })),
});
const calmContextArb = fc.record({
  armed: fc.constant<boolean>(true),
  notArmed: fc.constantFrom(...NOT_ARMED),
  ksAgeMinutes: fc.integer({ min: 120, max: 3000 }),
  latch: fc.constant<PersistedTradingState['state']>('ACTIVE'),
  dayLock: fc.constantFrom<string | null>(null, '2018-02-05'),
  session: fc.constant<boolean>(true),
  nowMinutes: fc.integer({ min: 5, max: 385 }),
  startFactor: num(0.995, 1.005),
  hwmFactor: fc.option(num(1, 1.04)),
  trades: fc.constant([] as string[]),
  entriesToday: fc.integer({ min: 0, max: 1 }),
  notionals: fc.array(fc.integer({ min: 100, max: 50_000 }).map(String), { maxLength: 8 }),
  benchmark: fc.constant<'fresh' | 'stale' | 'none'>('fresh'),
  curve: fc.constant([] as number[]),
});
const contextArb = (calm: number, any = 1) => weighted<Context>([calm, calmContextArb], [any, anyContextArb]);

type Context = typeof anyContextArb extends fc.Arbitrary<infer T> ? T : never;

function buildInput(
  ctx: Context,
  account: AccountSnapshot,
  intents: RiskInput['intents'],
  market: Record<string, MarketInfo>,
  limits: StrategyConfig,
): RiskInput {
  const nowMs = OPEN_MS + ctx.nowMinutes * 60_000;
  const now = new Date(nowMs).toISOString();
  const equity = dec(account.equity);
  // a random walk of daily growth factors ending at today's equity
  const curve: number[] = [];
  let e = equity.toNumber();
  for (let i = ctx.curve.length - 1; i >= 0; i--) curve.unshift((e = e / ctx.curve[i]!));
  const memory: RiskMemory | null =
    ctx.hwmFactor === null
      ? null
      : { highWaterMark: equity.times(ctx.hwmFactor).toDecimalPlaces(2).toString(), highWaterMarkAt: '2018-01-02T21:00:00.000Z', milestoneBaseline: account.equity, milestoneLevel: 0, drawdownRung: 'none' };
  const dayLock: DayLock | null = ctx.dayLock === null ? null : { date: ctx.dayLock, cause: 'LOSS_STREAK: earlier', since: '2018-02-05T15:00:00.000Z' };
  return {
    now,
    session: ctx.session ? SESSION : null,
    priorSessions: PRIOR,
    killSwitch: ctx.armed ? ARMED(new Date(nowMs - ctx.ksAgeMinutes * 60_000).toISOString()) : ctx.notArmed,
    latch: { state: ctx.latch, cause: ctx.latch === 'ACTIVE' ? 'INITIAL: no halt recorded' : 'RECONCILIATION_MISMATCH: x', since: '2018-02-01T21:00:00.000Z' },
    dayLock,
    account,
    intents,
    market,
    benchmark: ctx.benchmark === 'none' ? null : { symbol: 'SPY', closes: RISING, lastBarDate: ctx.benchmark === 'fresh' ? FRESH : '2018-01-25' },
    history: {
      sessionStartEquity: equity.times(ctx.startFactor).toDecimalPlaces(2).toString(),
      equityCurve: curve,
      closedTrades: ctx.trades.map((pnl, i) => loss(i, pnl)),
      entriesToday: ctx.entriesToday,
      recentEntryNotionals: ctx.notionals,
      streakSince: STREAK_SINCE,
    },
    memory,
    limits,
  };
}

const sum = (xs: Iterable<Dec>) => {
  let s = new Dec(0);
  for (const x of xs) s = s.plus(x);
  return s;
};

describe('decideRisk properties', () => {
  it('(a) approved entries never break a hard limit', () => {
    let runsWithEntries = 0;
    let entriesApproved = 0;
    fc.assert(
      fc.property(
        limitsArb,
        fc.integer({ min: 10_000, max: 2_000_000 }),
        weighted([4, num(0.3, 1.2)], [1, num(0, 0.3)]),
        positionsArb({ shorts: false, fractional: false }),
        openOrdersArb,
        marketArb,
        entriesArb,
        contextArb(5),
        (limits, equityInt, cashFactor, positions, rawOrders, market, intents, ctx) => {
          const nav = dec(equityInt);
          // Pending buys in an entry's own symbol count against its position limit (kernel.test.ts
          // "MAX_POSITION_PCT counts a pending buy in the same symbol").
          const openOrders = rawOrders;
          const account: AccountSnapshot = {
            asOf: '2018-02-06T14:30:00.000Z',
            cash: nav.times(cashFactor).toDecimalPlaces(2).toString(),
            equity: nav.toString(),
            positions,
            openOrders,
          };
          const input = buildInput(ctx, account, intents, market, limits);
          const result = decideRisk(input);

          for (const d of result.decisions) {
            expect(d.reason.startsWith(`${d.rule}:`), d.reason).toBe(true);
            expect(d.allowed).toBe(d.qty !== null);
          }
          const allowed = result.decisions.filter((d) => d.kind === 'entry' && d.allowed);
          expect(result.decisions.filter((d) => d.kind === 'entry')).toHaveLength(intents.length);
          if (input.killSwitch.state !== 'ARMED' || input.latch.state !== 'ACTIVE') expect(allowed).toEqual([]);
          expect(allowed.length).toBeLessThanOrEqual(Math.max(0, limits.maxTradesPerDay - ctx.entriesToday));
          if (allowed.length === 0) return;
          runsWithEntries += 1;
          entriesApproved += allowed.length;

          // Exposure before the run, recomputed: positions by |qty| x last, open buys by their
          // unfilled remainder x (limit, else the last price).
          const held = new Map<string, Dec>(positions.map((p) => [p.symbol, dec(p.qty).abs().times(p.lastPrice)]));
          const pending = new Map<string, Dec>();
          for (const o of openOrders) {
            if (o.side !== 'buy') continue;
            const px = o.limitPrice ?? positions.find((p) => p.symbol === o.symbol)?.lastPrice ?? market[o.symbol]!.lastClose;
            const value = Dec.max(0, dec(o.qty).minus(o.filledQty)).times(px);
            pending.set(o.symbol, (pending.get(o.symbol) ?? new Dec(0)).plus(value));
          }
          const notional = new Map<string, Dec>();
          for (const d of allowed) {
            const qty = dec(d.qty!);
            const limit = dec(d.plan!.limitPrice);
            const stop = dec(d.plan!.stopLossPrice);
            const value = qty.times(limit);
            notional.set(d.symbol, value);
            const m = market[d.symbol]!;
            expect(qty.isInteger() && qty.gte(1)).toBe(true);
            expect(dec(d.plan!.notional).eq(value)).toBe(true);
            expect(stop.lt(limit) && stop.gt(0)).toBe(true);
            expect(value.lte(limits.maxOrderNotional), `${d.symbol} notional ${value} > maxOrderNotional ${limits.maxOrderNotional}`).toBe(true);
            expect(value.gte(limits.minOrderNotional)).toBe(true);
            const positionValue = (held.get(d.symbol) ?? new Dec(0)).plus(pending.get(d.symbol) ?? 0).plus(value);
            expect(positionValue.lte(nav.times(limits.maxPositionFraction)), `${d.symbol} position ${positionValue} > ${limits.maxPositionFraction} NAV`).toBe(true);
            const risk = qty.times(limit.minus(stop));
            expect(risk.lte(nav.times(limits.riskPerTrade)), `${d.symbol} risk ${risk} > ${limits.riskPerTrade} NAV`).toBe(true);
            expect(m.adv20 !== null && qty.lte(dec(m.adv20).times(limits.maxAdvFraction))).toBe(true);
            expect(limit.minus(m.lastClose).abs().div(m.lastClose).lte(limits.maxPriceDeviationFraction)).toBe(true);
            expect(m.lastBarDate).toBe(FRESH);
          }
          const spent = sum(notional.values());

          const gross = sum(held.values()).plus(sum(pending.values())).plus(spent);
          expect(gross.lte(nav.times(limits.maxGrossExposureFraction)), `gross ${gross} > ${limits.maxGrossExposureFraction} NAV`).toBe(true);

          // adding to a held (or pending) symbol opens nothing; new symbols only while below the limit
          const occupied = new Set([...held.keys(), ...pending.keys()]);
          const opened = [...notional.keys()].filter((s) => !occupied.has(s));
          if (opened.length > 0) expect(occupied.size + opened.length).toBeLessThanOrEqual(limits.maxOpenPositions);

          const cashAfter = dec(account.cash).minus(sum(pending.values())).minus(spent);
          expect(cashAfter.gte(nav.times(limits.cashBufferFraction)), `cash after ${cashAfter} < buffer`).toBe(true);

          const byCategory = new Map<string, Dec>();
          for (const [symbol, v] of [...held, ...pending, ...notional]) {
            const c = categoryOf(symbol, limits.categoryMap);
            byCategory.set(c, (byCategory.get(c) ?? new Dec(0)).plus(v));
          }
          for (const d of allowed) {
            const c = categoryOf(d.symbol, limits.categoryMap);
            expect(byCategory.get(c)!.lte(nav.times(limits.maxCategoryFraction)), `${c} ${byCategory.get(c)} > ${limits.maxCategoryFraction} NAV`).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
    // the generators must actually reach approvals, or the property says nothing
    expect(runsWithEntries).toBeGreaterThan(RUNS / 20);
    expect(entriesApproved).toBeGreaterThan(runsWithEntries);
  });

  it('(b) an exit no larger than its position is always allowed with its full qty', () => {
    let exitsChecked = 0;
    fc.assert(
      fc.property(
        limitsArb,
        fc.integer({ min: 10_000, max: 2_000_000 }),
        positionsArb({ shorts: true, fractional: true }),
        fc.array(fc.record({ pick: fc.nat(), share: fc.integer({ min: 1, max: 10_000 }), purpose: fc.constantFrom<ExitIntent['purpose']>('stop_loss', 'take_profit', 'flatten', 'rebalance') }), { maxLength: 7 }),
        openOrdersArb,
        marketArb,
        entriesArb,
        contextArb(1, 2),
        (limits, equityInt, positions, exitPicks, openOrders, market, entryIntents, ctx) => {
          // one exit per position at most, for 1/10,000 .. all of it
          const exitIntents: ExitIntent[] = [];
          const used = new Set<string>();
          for (const pick of exitPicks) {
            if (positions.length === 0) break;
            const p = positions[pick.pick % positions.length]!;
            if (used.has(p.symbol)) continue;
            used.add(p.symbol);
            const heldQty = dec(p.qty);
            const qty = Dec.max('0.0001', heldQty.abs().times(pick.share).div(10_000).toDecimalPlaces(4, Dec.ROUND_DOWN));
            exitIntents.push({ kind: 'exit', symbol: p.symbol, side: heldQty.gt(0) ? 'sell' : 'buy', qty: qty.toString(), purpose: pick.purpose, cause: 'test' });
          }
          const nav = dec(equityInt);
          const account: AccountSnapshot = { asOf: '2018-02-06T14:30:00.000Z', cash: nav.times(0.5).toString(), equity: nav.toString(), positions, openOrders };
          const intents = [...exitIntents, ...entryIntents];
          const result = decideRisk(buildInput(ctx, account, intents, market, limits));

          const exitDecisions = result.decisions.filter((d) => d.kind === 'exit');
          for (const x of exitIntents) {
            const d = exitDecisions.find((e) => e.symbol === x.symbol)!;
            expect(d, x.symbol).toBeDefined();
            expect(d).toMatchObject({ allowed: true, rule: 'EXIT', side: x.side, purpose: x.purpose });
            expect(dec(d.qty!).eq(x.qty), `${x.symbol} ${d.qty} != ${x.qty}`).toBe(true);
            expect(d.adjustedQty).toBeUndefined();
            exitsChecked += 1;
          }
          // whatever else is decided (flatten exits), no allowed exit exceeds or flips its position
          for (const d of exitDecisions.filter((e) => e.allowed)) {
            const p = positions.find((q) => q.symbol === d.symbol)!;
            expect(dec(d.qty!).gt(0) && dec(d.qty!).lte(dec(p.qty).abs())).toBe(true);
            expect(d.side).toBe(dec(p.qty).gt(0) ? 'sell' : 'buy');
          }
          if (result.actions.flatten) {
            // a flatten closes every position: the generated exits take the whole position
            for (const p of positions) expect(exitDecisions.some((e) => e.symbol === p.symbol && e.allowed)).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
    expect(exitsChecked).toBeGreaterThan(RUNS);
  });

  it('(b) an exit larger than its position is cut to the position (NO_NAKED_SHORT), never refused', () => {
    fc.assert(
      fc.property(
        positionsArb({ shorts: true, fractional: true }).filter((ps) => ps.length > 0),
        fc.integer({ min: 1, max: 1_000_000 }),
        contextArb(1),
        marketArb,
        limitsArb,
        (positions, extraUnits, ctx, market, limits) => {
          const p = positions[0]!;
          const held = dec(p.qty);
          const want = held.abs().plus(dec(extraUnits).div(10_000));
          const account: AccountSnapshot = { asOf: '2018-02-06T14:30:00.000Z', cash: '50000', equity: '100000', positions, openOrders: [] };
          const x: ExitIntent = { kind: 'exit', symbol: p.symbol, side: held.gt(0) ? 'sell' : 'buy', qty: want.toString(), purpose: 'stop_loss', cause: 'test' };
          const d = decideRisk(buildInput(ctx, account, [x], market, limits)).decisions.find((e) => e.symbol === p.symbol)!;
          expect(d).toMatchObject({ allowed: true, rule: 'NO_NAKED_SHORT', qty: held.abs().toString(), adjustedQty: held.abs().toString() });
        },
      ),
      { numRuns: RUNS },
    );
  });
});
