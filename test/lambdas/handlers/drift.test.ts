/**
 * Live-vs-backtest drift, recorded by cancel-verify (artifact DRIFT, summary in the step output):
 * on real DynamoDB adapters (dynalite) with the scriptable fake broker and hand-made bars, then on
 * a local paper run of the bundled data, where the live side IS the backtest engine and the drift
 * must be zero.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { RawBarRow } from '../../../lambdas/core/bars';
import { deriveClientOrderId } from '../../../lambdas/core/client-order-id';
import { INITIAL_TRADING_STATE } from '../../../lambdas/core/kill-switch';
import { cancelVerifyStep, type VerificationArtifact } from '../../../lambdas/handlers/cancel-verify';
import { ordersStep, placeOrder } from '../../../lambdas/handlers/orders';
import { recordSessionDrift, simulateBacktestFills, type DriftArtifact, type SessionDrift } from '../../../lambdas/handlers/shared/drift';
import { ARTIFACTS, type PipelineState } from '../../../lambdas/handlers/shared/pipeline-state';
import { BrokerError, type MarketDataPort } from '../../../lambdas/ports';
import type { RangeReport } from '../../../local/report';
import { runLocal, type LocalRunOptions } from '../../../local/runner';
import { bundledRun } from '../../support/local-run';
import { entryOrder } from '../../support/orders';
import { decisionsArtifact, entryDecision, startHandlerHarness, type HandlerHarness, type PlannedEntry } from '../../support/fake-broker';

const DAY0 = '2018-02-06';
const DAY1 = '2018-02-07';
const DECISION = `${DAY1}T14:45:00.000Z`; // 09:45 New York
const MIDDAY = `${DAY1}T18:00:00.000Z`;
const AFTER_CLOSE1 = `${DAY1}T21:15:00.000Z`;
const RUN = 'run-1';

// Slippage 10 bps so the hand-computed prices stay exact: 100.00 × 1.001 = 100.10.
const CONFIG = { slippageBps: 10 };

const AAPL: PlannedEntry = { symbol: 'AAPL', qty: 10, limitPrice: '101.00', stopLossPrice: '95.00' };
const MSFT: PlannedEntry = { symbol: 'MSFT', qty: 20, limitPrice: '91.35', stopLossPrice: '86.02' };
const XOM: PlannedEntry = { symbol: 'XOM', qty: 5, limitPrice: '80.00', stopLossPrice: '75.00' };

/** Bars as a market-data source gives them (raw text rows). */
class FakeMarketData implements MarketDataPort {
  constructor(private readonly bars: Record<string, Array<[date: string, open: number, high: number, low: number, close: number]>>) {}
  async listSymbols(): Promise<string[]> {
    return Object.keys(this.bars).sort();
  }
  async loadDailyRows(symbol: string): Promise<RawBarRow[]> {
    const rows = this.bars[symbol];
    if (!rows) throw new Error(`no data for ${symbol}`);
    return rows.map(([date, open, high, low, close], i) => ({ line: i + 2, date, open: String(open), high: String(high), low: String(low), close: String(close), volume: '1000000' }));
  }
}

const MARKET = new FakeMarketData({
  // DAY1: the 09:45 buy limit 101.00 fills at the worst price the bar traded within the limit,
  // min(101.00, high 100.00) = 100.00, plus 10 bps slippage = 100.10 (below the limit: not capped).
  // The stop leg (95.00) is never reached (low 98.00).
  AAPL: [
    [DAY0, 99, 100.5, 98.5, 99.5],
    [DAY1, 99, 100, 98, 99.5],
  ],
  // DAY1: limit 91.35 reached (low 90.00): min(91.35, high 92.00) = 91.35; + 10 bps = 91.44135,
  // capped at the limit → 91.35.
  MSFT: [
    [DAY0, 91, 92, 90, 91],
    [DAY1, 91, 92, 90, 91.5],
  ],
  // No DAY1 bar yet.
  XOM: [[DAY0, 79, 80, 78, 79.5]],
});

let h: HandlerHarness;
beforeEach(async () => {
  h = await startHandlerHarness({ now: DECISION, config: CONFIG });
  h.deps.marketData = MARKET;
});
afterEach(async () => {
  await h.stop();
});

function state(runId = RUN): PipelineState {
  return {
    runId,
    strategyId: h.config.strategyId,
    tradingDate: DAY1,
    session: { isSession: true, date: DAY1, openUtc: `${DAY1}T14:30:00.000Z`, closeUtc: `${DAY1}T21:00:00.000Z` },
  };
}

const entryId = (symbol: string) => deriveClientOrderId({ strategyId: h.config.strategyId, sessionDate: DAY1, symbol, side: 'buy', purpose: 'entry' });

async function verify() {
  h.clock.set(AFTER_CLOSE1);
  const summary = await cancelVerifyStep(state(), h.deps);
  const drift = await h.artifacts.get<DriftArtifact>(RUN, ARTIFACTS.drift);
  const verification = await h.artifacts.get<VerificationArtifact>(RUN, ARTIFACTS.verification);
  return { summary, drift, verification };
}

describe('cancel-verify records the drift of the session', () => {
  test('a live fill 10 bps worse than the bar-simulated fill is +10 bps; a rejected decision, an undecided live order and a missing bar are each reported', async () => {
    await h.artifacts.put(RUN, ARTIFACTS.decisions, decisionsArtifact([entryDecision(AAPL), entryDecision(MSFT), entryDecision(XOM)], DECISION), new Date(DECISION));
    // AAPL goes through; MSFT is refused by the broker; XOM goes through.
    h.broker.scriptSubmit({ kind: 'inspect', hook: () => undefined }).scriptSubmit({ kind: 'refuse', error: new BrokerError(422, 'qty must be <= 10') });
    const counts = await ordersStep(state(), h.deps);
    expect(counts).toMatchObject({ submitted: 2, rejected: 1 });
    // An order this run sent that the risk kernel never decided (e.g. a bug in the orders step).
    await placeOrder(h.deps, entryOrder({ symbol: 'JPM', limitPrice: '110.00', stopLossPrice: '100.00', qty: 3 }), state());

    h.clock.set(MIDDAY);
    // The backtest fills AAPL at 100.10; live pays 10 bps more: 100.10 × 1.001 = 100.2001.
    h.broker.fill(entryId('AAPL'), '100.2001');
    h.broker.fill(entryId('JPM'), '109.50');
    h.broker.fill(entryId('XOM'), '79.90');

    const { summary, drift, verification } = await verify();

    expect('error' in drift).toBe(false);
    const report = drift as SessionDrift;
    const bySymbol = Object.fromEntries(report.rows.map((r) => [r.symbol, r]));
    // 0.1001 / 100.10 × 10,000 = 10 bps, positive: live paid more than the backtest.
    expect(bySymbol.AAPL).toMatchObject({
      clientOrderId: entryId('AAPL'),
      differences: [],
      gapBps: 10,
      matchedNotional: '1001', // 10 × 100.10
      backtest: { qty: '10', limitPrice: '101.00', stopLossPrice: '95.00', fill: { status: 'filled', filledQty: '10', avgPrice: '100.1' } },
      live: { status: 'filled', filledQty: '10', filledAvgPrice: '100.2001', stopLossPrice: '95.00', atBroker: true },
      placement: { outcome: 'submitted' },
    });
    expect(bySymbol.JPM).toMatchObject({ differences: ['EXTRA_LIVE', 'FILLED_LIVE_ONLY'], backtest: null, live: { qty: '3', filledQty: '3', filledAvgPrice: '109.5' } });
    // The backtest engine fills MSFT at its limit 91.35 (91.44135 after slippage, capped at the limit).
    expect(bySymbol.MSFT).toMatchObject({
      differences: ['REJECTED_LIVE', 'FILLED_BACKTEST_ONLY'],
      backtest: { fill: { status: 'filled', filledQty: '20', avgPrice: '91.35' } },
      live: { status: 'rejected', statusReason: '422 qty must be <= 10', atBroker: false, filledQty: '0' },
      placement: { outcome: 'rejected', detail: '422 qty must be <= 10' },
    });
    // No DAY1 bar for XOM: the backtest fill is unknown, with the reason; nothing guessed, no fill code.
    expect(bySymbol.XOM).toMatchObject({
      differences: [],
      gapBps: null,
      backtest: { fill: { status: 'unknown', reason: `no ${DAY1} bar for XOM in the market data (yet): its last bar is ${DAY0}` } },
      live: { filledQty: '5', filledAvgPrice: '79.9' },
    });
    expect(report.totals).toEqual({
      ordersCompared: 4,
      ordersDiffering: 2,
      byCode: { EXTRA_LIVE: 1, FILLED_LIVE_ONLY: 1, REJECTED_LIVE: 1, FILLED_BACKTEST_ONLY: 1 },
      filledBoth: 1,
      backtestUnknown: 1,
      meanGapBps: 10,
      weightedMeanGapBps: 10,
      maxAbsGapBps: 10,
    });
    expect(report).toMatchObject({ tradingDate: DAY1, sources: ['DECISIONS'], shadowCash: '100000', costs: { commissionPerShare: '0', slippageBps: 10 } });

    // Small summary in the step output and in VERIFICATION; no alert about the drift itself.
    expect(summary).toMatchObject({ driftCompared: 4, driftDiffering: 2, driftUnknown: 1, driftMeanGapBps: 10 });
    expect(summary).not.toHaveProperty('driftError');
    expect(verification.drift).toEqual({ compared: 4, differing: 2, unknown: 1, meanGapBps: 10 });
    expect(h.alerts.ofType('DRIFT_UNAVAILABLE')).toEqual([]);
  });

  test('the drift never calls the broker and never changes the ledger', async () => {
    await h.artifacts.put(RUN, ARTIFACTS.decisions, decisionsArtifact([entryDecision(AAPL)], DECISION), new Date(DECISION));
    await ordersStep(state(), h.deps);
    h.clock.set(AFTER_CLOSE1);
    const callsBefore = h.broker.calls.length;
    const ledgerBefore = await h.ledger.listOrders();
    const summary = await recordSessionDrift(h.deps, state());
    expect(summary).toEqual({ compared: 1, differing: 1, unknown: 0, meanGapBps: null }); // FILLED_BACKTEST_ONLY
    expect(h.broker.calls.length).toBe(callsBefore);
    expect(await h.ledger.listOrders()).toEqual(ledgerBefore);
  });

  test('an error inside the drift computation does not fail cancel-verify: { error } in DRIFT, MEDIUM DRIFT_UNAVAILABLE, trading untouched', async () => {
    await h.artifacts.put(RUN, ARTIFACTS.decisions, decisionsArtifact([entryDecision(AAPL)], DECISION), new Date(DECISION));
    await ordersStep(state(), h.deps);
    // A corrupt decision: the orders step had already placed the good one; the drift cannot build it.
    const corrupt = decisionsArtifact([{ ...entryDecision(AAPL), plan: { ...entryDecision(AAPL).plan!, limitPrice: 'abc' } }], DECISION);
    await h.artifacts.put(RUN, ARTIFACTS.decisions, corrupt, new Date(DECISION));

    const { summary, drift, verification } = await verify();

    expect(drift).toMatchObject({ error: expect.stringContaining('limitPrice="abc"') });
    expect(summary).toMatchObject({ driftCompared: null, driftDiffering: null, driftUnknown: null, driftMeanGapBps: null, driftError: expect.stringContaining('limitPrice="abc"') });
    expect(verification.drift).toEqual({ error: summary.driftError });
    expect(summary).toMatchObject({ mismatches: 0, canceled: 1 }); // the verification itself ran as usual
    const [alert] = h.alerts.ofType('DRIFT_UNAVAILABLE');
    expect(alert).toMatchObject({ severity: 'MEDIUM', runId: RUN, tradingDate: DAY1 });
    expect(alert!.message).toContain(`live-vs-backtest drift of ${DAY1} could not be computed`);
    expect(await h.tradingState.getLatch()).toEqual(INITIAL_TRADING_STATE);
  });

  test('a computation that throws something else, and a market data source that fails, are recorded too', async () => {
    h.clock.set(AFTER_CLOSE1);
    const summary = await recordSessionDrift(h.deps, state(), async () => {
      throw new TypeError('boom');
    });
    expect(summary).toEqual({ error: 'boom' });
    expect(h.alerts.ofType('DRIFT_UNAVAILABLE')).toHaveLength(1);

    // A symbol whose market data cannot be loaded is an unknown fill with the reason, not an error.
    await h.artifacts.put(RUN, ARTIFACTS.decisions, decisionsArtifact([entryDecision({ ...AAPL, symbol: 'TSLA' })], DECISION), new Date(DECISION));
    await recordSessionDrift(h.deps, state());
    const drift = (await h.artifacts.get<SessionDrift>(RUN, ARTIFACTS.drift)).rows[0]!;
    expect(drift.backtest!.fill).toEqual({
      clientOrderId: entryId('TSLA'),
      status: 'unknown',
      reason: `no ${DAY1} bar for TSLA: market data could not be loaded (no data for TSLA)`,
    });
    expect(drift.differences).toEqual(['MISSING_LIVE']);
  });

  test('a run without decisions (nothing decided) has an empty drift', async () => {
    const { summary } = await verify();
    expect(summary).toMatchObject({ driftCompared: 0, driftDiffering: 0, driftUnknown: 0, driftMeanGapBps: null });
    expect(h.alerts.ofType('DRIFT_UNAVAILABLE')).toEqual([]);
  });
});

describe('simulateBacktestFills', () => {
  const session = { date: DAY1, openUtc: `${DAY1}T14:30:00.000Z`, closeUtc: `${DAY1}T21:00:00.000Z` };
  const bar = { date: DAY1, open: 99, high: 100, low: 98, close: 99.5, volume: 1_000_000 };

  test('an order submitted during the session never fills at the open; an unreached limit is unfilled with the bar in the reason', () => {
    // Open 99 is below the limit 99.50, but the 09:45 order cannot have it: it fills at min(99.50, high 100) = 99.50.
    // MSFT's limit 97.00 is below the low 98: not filled, and the gtc entry is still working (new).
    const fills = simulateBacktestFills({
      session,
      cash: '100000',
      batches: [
        { submittedAt: DECISION, cancelFirst: null, orders: [entryOrder({ tradingDate: DAY1, limitPrice: '99.50', stopLossPrice: '90.00' }), entryOrder({ symbol: 'MSFT', tradingDate: DAY1, limitPrice: '97.00', stopLossPrice: '90.00' })] },
      ],
      bars: new Map([
        ['AAPL', bar],
        ['MSFT', bar],
      ]),
      costs: { commissionPerShare: '0', slippageBps: 0 },
    });
    expect(fills).toEqual([
      { clientOrderId: entryId('AAPL'), status: 'filled', filledQty: '10', avgPrice: '99.5' },
      { clientOrderId: entryId('MSFT'), status: 'unfilled', reason: `buy limit 97.00 not reached by the ${DAY1} bar (open 99, high 100, low 98, close 99.5); status new` },
    ]);
  });

  test('the end-of-day flatten cancels the open entries first, then its market sells fill at the close minus slippage', () => {
    const sell = { ...entryOrder({ tradingDate: DAY1 }), clientOrderId: 'momo1-20180207-MSFT-s-fl', symbol: 'MSFT', side: 'sell' as const, type: 'market' as const, timeInForce: 'day' as const, orderClass: 'simple' as const, purpose: 'flatten' as const, qty: '7', limitPrice: undefined, stopLossPrice: undefined };
    const fills = simulateBacktestFills({
      session,
      cash: '100000',
      batches: [
        { submittedAt: DECISION, cancelFirst: null, orders: [entryOrder({ tradingDate: DAY1, limitPrice: '99.50', stopLossPrice: '90.00' })] },
        { submittedAt: `${DAY1}T20:45:00.000Z`, cancelFirst: 'all', orders: [sell] },
      ],
      bars: new Map([
        ['AAPL', bar],
        ['MSFT', bar],
      ]),
      costs: { commissionPerShare: '0.01', slippageBps: 10 },
    });
    // Close 99.5 × (1 − 10 bps) = 99.4005.
    expect(fills).toEqual([
      { clientOrderId: entryId('AAPL'), status: 'unfilled', reason: 'canceled: canceled by request' },
      { clientOrderId: 'momo1-20180207-MSFT-s-fl', status: 'filled', filledQty: '7', avgPrice: '99.4005' },
    ]);
  });

  test('an order the engine refuses is rejected with the refusal', () => {
    const fills = simulateBacktestFills({
      session,
      cash: '500',
      batches: [{ submittedAt: DECISION, cancelFirst: null, orders: [entryOrder({ tradingDate: DAY1, limitPrice: '99.50', stopLossPrice: '90.00' })] }],
      bars: new Map([['AAPL', bar]]),
      costs: { commissionPerShare: '0', slippageBps: 0 },
    });
    expect(fills).toEqual([{ clientOrderId: entryId('AAPL'), status: 'rejected', reason: '403 insufficient buying power' }]);
  });
});

describe('a local paper run: the live side is the backtest engine, so the drift is zero', { timeout: 300_000 }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tp-drift-'));
  // Costs on, to check the shadow applies the same ones; day 2 flattens at 15:45 (cancels + market sells).
  const config = { commissionPerShare: 0.005, slippageBps: 5 };
  let day1: RangeReport;
  let day2: RangeReport;
  const drifts: SessionDrift[] = [];
  beforeAll(async () => {
    // The run artifacts live in the run's memory: read each session's DRIFT as it ends.
    const onSession: LocalRunOptions['onSession'] = async (report, { artifacts }) => {
      drifts.push(await artifacts.get<SessionDrift>(report.runId, ARTIFACTS.drift));
    };
    day1 = await runLocal(bundledRun(['2016-06-20'], config, stateDir, { onSession }));
    day2 = await runLocal(bundledRun(['2016-06-21'], { ...config, endOfDayFlatten: true }, stateDir, { onSession }));
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  test('entries filled on the session bar: every order compared, no difference, 0 bps', () => {
    const [drift] = drifts;
    expect(day1.days[0]!.executionError).toBeNull();
    expect('error' in drift!).toBe(false);
    expect(drift!.rows.length).toBeGreaterThan(0);
    expect(drift!.rows.filter((r) => r.gapBps !== null).length).toBeGreaterThan(0);
    expect(drift!.rows.filter((r) => r.differences.length > 0)).toEqual([]);
    expect(drift!.totals).toMatchObject({ ordersDiffering: 0, backtestUnknown: 0, meanGapBps: 0, weightedMeanGapBps: 0, maxAbsGapBps: 0 });
    expect(drift!.totals.filledBoth).toBe(drift!.rows.filter((r) => r.live?.filledQty !== '0').length);
  });

  test('the end-of-day flatten (entries cancelled at 15:45, positions sold at the close): no difference, 0 bps', () => {
    const [, drift] = drifts;
    expect(day2.days[0]!.executionError).toBeNull();
    expect(drift!.sources).toEqual(['DECISIONS', 'DECISIONS#END_OF_DAY']);
    const exits = drift!.rows.filter((r) => r.side === 'sell');
    expect(exits.length).toBeGreaterThan(0);
    expect(exits.every((r) => r.gapBps === 0)).toBe(true);
    expect(drift!.rows.filter((r) => r.differences.length > 0)).toEqual([]);
    expect(drift!.totals).toMatchObject({ ordersDiffering: 0, backtestUnknown: 0, maxAbsGapBps: 0 });
  });
});
