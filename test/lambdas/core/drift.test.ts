/**
 * core/drift: hand-made sessions, one per difference code, the bps sign convention and the totals,
 * every number computed by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { computeDrift, type BacktestFill, type BacktestOrder, type DriftInput, type LiveOrder } from '../../../lambdas/core/drift';

const DATE = '2018-02-07';

/** A buy entry as the orders step builds it: 10 AAPL limit 101.00, stop-loss leg 95.00. */
const bt = (over: Partial<BacktestOrder> = {}): BacktestOrder => ({
  clientOrderId: 'momo1-20180207-AAPL-b-en',
  symbol: 'AAPL',
  side: 'buy',
  type: 'limit',
  qty: '10',
  limitPrice: '101.00',
  stopLossPrice: '95.00',
  ...over,
});

/** The same order as the ledger has it, accepted by the broker, unfilled. */
const live = (over: Partial<LiveOrder> = {}): LiveOrder => ({
  clientOrderId: 'momo1-20180207-AAPL-b-en',
  symbol: 'AAPL',
  side: 'buy',
  type: 'limit',
  qty: '10',
  limitPrice: '101.00',
  stopLossPrice: '95.00',
  status: 'new',
  statusReason: null,
  atBroker: true,
  filledQty: '0',
  filledAvgPrice: null,
  ...over,
});

const filled = (clientOrderId: string, filledQty: string, avgPrice: string): BacktestFill => ({ clientOrderId, status: 'filled', filledQty, avgPrice });
const unfilled = (clientOrderId: string, reason = 'buy limit 101.00 not reached'): BacktestFill => ({ clientOrderId, status: 'unfilled', reason });

const input = (over: Partial<DriftInput>): DriftInput => ({ tradingDate: DATE, backtestOrders: [], backtestFills: [], liveOrders: [], ...over });

/** One backtest order, its outcome and its live twin → the single row. */
function row(b: BacktestOrder | null, fill: BacktestFill | null, l: LiveOrder | null) {
  const report = computeDrift(input({ backtestOrders: b ? [b] : [], backtestFills: fill ? [fill] : [], liveOrders: l ? [l] : [] }));
  expect(report.rows).toHaveLength(1);
  return report.rows[0]!;
}

const ID = 'momo1-20180207-AAPL-b-en';

describe('agreement', () => {
  it('the same order filled at the same price on both sides: no difference, 0 bps', () => {
    const r = row(bt(), filled(ID, '10', '100.1'), live({ status: 'filled', filledQty: '10', filledAvgPrice: '100.10' }));
    expect(r.differences).toEqual([]);
    expect(r.gapBps).toBe(0);
    expect(r.matchedNotional).toBe('1001'); // 10 × 100.1
  });

  it('unfilled on both sides: no difference, no gap; decimal spellings do not matter (101 = 101.00, "10" = "10.0")', () => {
    const r = row(bt({ limitPrice: '101' }), unfilled(ID), live({ qty: '10.0', status: 'canceled' }));
    expect(r.differences).toEqual([]);
    expect(r.gapBps).toBeNull();
    expect(r.matchedNotional).toBeNull();
  });
});

describe('the fill-price gap: s × (live − backtest) / backtest × 10,000, s = +1 buy, −1 sell', () => {
  it.each([
    // buy, live paid 0.10 more on 100.00: +0.10 / 100 × 10,000 = +10 (worse than the backtest)
    ['buy', '100.00', '100.10', 10],
    // buy, live paid 0.05 less: −0.05 / 100 × 10,000 = −5 (better)
    ['buy', '100.00', '99.95', -5],
    // sell, live received 0.10 less: −1 × (99.90 − 100) / 100 × 10,000 = +10 (worse)
    ['sell', '100.00', '99.90', 10],
    // sell, live received 0.20 more: −1 × 0.20 / 100 × 10,000 = −20 (better)
    ['sell', '100.00', '100.20', -20],
    // buy 100.2001 vs 100.10: 0.1001 / 100.1 × 10,000 = 10
    ['buy', '100.1', '100.2001', 10],
    // buy 50.01 vs 50.00: 0.01 / 50 × 10,000 = 2
    ['buy', '50.00', '50.01', 2],
  ] as const)('%s: backtest %s, live %s → %d bps', (side, backtestPrice, livePrice, expected) => {
    const id = `momo1-20180207-AAPL-${side === 'buy' ? 'b-en' : 's-fl'}`;
    const order = side === 'buy' ? bt({ clientOrderId: id }) : bt({ clientOrderId: id, side: 'sell', type: 'market', limitPrice: null, stopLossPrice: null });
    const l = live({ clientOrderId: id, side, type: order.type, limitPrice: order.limitPrice, stopLossPrice: order.stopLossPrice, status: 'filled', filledQty: '10', filledAvgPrice: livePrice });
    const r = row(order, filled(id, '10', backtestPrice), l);
    expect(r.differences).toEqual([]);
    expect(r.gapBps).toBe(expected);
  });

  it('rounds to 0.0001 bps: buy 100.00 vs 100.001 live → 0.1 bps; 3 vs 3.0001 → 0.3333', () => {
    expect(row(bt(), filled(ID, '10', '100.00'), live({ status: 'filled', filledQty: '10', filledAvgPrice: '100.001' })).gapBps).toBe(0.1);
    // 0.0001 / 3 × 10,000 = 0.33333… → 0.3333
    expect(row(bt(), filled(ID, '10', '3'), live({ status: 'filled', filledQty: '10', filledAvgPrice: '3.0001' })).gapBps).toBe(0.3333);
  });
});

describe('difference codes', () => {
  it('MISSING_LIVE: decided, and no ledger order at all (the backtest filled: FILLED_BACKTEST_ONLY too)', () => {
    const r = row(bt(), filled(ID, '10', '100.1'), null);
    expect(r.differences).toEqual(['MISSING_LIVE', 'FILLED_BACKTEST_ONLY']);
    expect(r.live).toBeNull();
    expect(r.gapBps).toBeNull();
  });

  it('MISSING_LIVE: the intent is in the ledger but never reached the broker (pending_submit, blocked); the placement says why', () => {
    const report = computeDrift(
      input({
        backtestOrders: [bt()],
        backtestFills: [unfilled(ID)],
        liveOrders: [live({ status: 'pending_submit', atBroker: false })],
        placements: [{ clientOrderId: ID, outcome: 'unconfirmed', detail: 'fetch failed: ECONNRESET' }],
      }),
    );
    expect(report.rows[0]!.differences).toEqual(['MISSING_LIVE']);
    expect(report.rows[0]!.placement).toEqual({ outcome: 'unconfirmed', detail: 'fetch failed: ECONNRESET' });
  });

  it('EXTRA_LIVE: a live order the backtest would not have sent; filled live → FILLED_LIVE_ONLY', () => {
    const r = row(null, null, live({ status: 'filled', filledQty: '10', filledAvgPrice: '100.5' }));
    expect(r.differences).toEqual(['EXTRA_LIVE', 'FILLED_LIVE_ONLY']);
    expect(r.backtest).toBeNull();
    expect(r.gapBps).toBeNull();
  });

  it('REJECTED_LIVE: the broker refused what the engine accepted (not MISSING_LIVE: it reached the broker)', () => {
    const r = row(bt(), filled(ID, '10', '100.1'), live({ status: 'rejected', statusReason: '422 qty too large', atBroker: false }));
    expect(r.differences).toEqual(['REJECTED_LIVE', 'FILLED_BACKTEST_ONLY']);
    expect(r.live!.statusReason).toBe('422 qty too large');
  });

  it('REJECTED_BACKTEST: the engine refused what the broker accepted; both refusing is no difference', () => {
    const refused: BacktestFill = { clientOrderId: ID, status: 'rejected', reason: '403 insufficient buying power' };
    expect(row(bt(), refused, live({ status: 'filled', filledQty: '10', filledAvgPrice: '100' })).differences).toEqual(['REJECTED_BACKTEST', 'FILLED_LIVE_ONLY']);
    expect(row(bt(), refused, live({ status: 'rejected', atBroker: false })).differences).toEqual([]);
  });

  it('QTY, LIMIT_PRICE, STOP_PRICE: ordered values differ (a missing stop-loss on one side counts)', () => {
    expect(row(bt(), unfilled(ID), live({ qty: '12' })).differences).toEqual(['QTY']);
    expect(row(bt(), unfilled(ID), live({ limitPrice: '100.99' })).differences).toEqual(['LIMIT_PRICE']);
    expect(row(bt(), unfilled(ID), live({ limitPrice: null })).differences).toEqual(['LIMIT_PRICE']);
    expect(row(bt(), unfilled(ID), live({ stopLossPrice: '95.01' })).differences).toEqual(['STOP_PRICE']);
    expect(row(bt(), unfilled(ID), live({ stopLossPrice: null })).differences).toEqual(['STOP_PRICE']);
    expect(row(bt(), unfilled(ID), live({ qty: '9', limitPrice: '102', stopLossPrice: '94' })).differences).toEqual(['QTY', 'LIMIT_PRICE', 'STOP_PRICE']);
  });

  it('FILLED_LIVE_ONLY and FILLED_BACKTEST_ONLY', () => {
    expect(row(bt(), unfilled(ID), live({ status: 'filled', filledQty: '10', filledAvgPrice: '100' })).differences).toEqual(['FILLED_LIVE_ONLY']);
    expect(row(bt(), filled(ID, '10', '100'), live({ status: 'canceled' })).differences).toEqual(['FILLED_BACKTEST_ONLY']);
  });

  it('FILL_QTY: filled on both sides with different quantities; the gap is weighted by the matched shares', () => {
    // live 4 @ 100.20, backtest 10 @ 100.00: gap +0.20 / 100 × 10,000 = +20 bps; matched 4 × 100 = 400 USD
    const r = row(bt(), filled(ID, '10', '100.00'), live({ status: 'canceled', filledQty: '4', filledAvgPrice: '100.20' }));
    expect(r.differences).toEqual(['FILL_QTY']);
    expect(r.gapBps).toBe(20);
    expect(r.matchedNotional).toBe('400');
  });

  it('an unknown backtest outcome (no bar) gives no fill code and no gap, only its reason', () => {
    const unknown: BacktestFill = { clientOrderId: ID, status: 'unknown', reason: 'no 2018-02-07 bar for AAPL in the market data (yet)' };
    const report = computeDrift(input({ backtestOrders: [bt()], backtestFills: [unknown], liveOrders: [live({ status: 'filled', filledQty: '10', filledAvgPrice: '100' })] }));
    expect(report.rows[0]!.differences).toEqual([]);
    expect(report.rows[0]!.gapBps).toBeNull();
    expect(report.rows[0]!.backtest!.fill).toEqual(unknown);
    expect(report.totals).toMatchObject({ ordersCompared: 1, ordersDiffering: 0, backtestUnknown: 1, filledBoth: 0, meanGapBps: null });
    // Unknown but never sent live: still MISSING_LIVE (that does not depend on the bar).
    expect(computeDrift(input({ backtestOrders: [bt()], backtestFills: [unknown] })).rows[0]!.differences).toEqual(['MISSING_LIVE']);
  });
});

describe('totals', () => {
  it('counts, codes, mean, notional-weighted mean and max |gap| (hand-computed)', () => {
    const A = 'momo1-20180207-AAPL-b-en';
    const B = 'momo1-20180207-MSFT-s-fl';
    const C = 'momo1-20180207-JPM-b-en';
    const D = 'momo1-20180207-XOM-b-en';
    const report = computeDrift(
      input({
        backtestOrders: [
          bt({ clientOrderId: A }),
          bt({ clientOrderId: B, symbol: 'MSFT', side: 'sell', type: 'market', qty: '40', limitPrice: null, stopLossPrice: null }),
          bt({ clientOrderId: C, symbol: 'JPM' }),
        ],
        backtestFills: [filled(A, '10', '100.00'), filled(B, '40', '50.00'), filled(C, '10', '100')],
        liveOrders: [
          // A: buy 10, live 100.10 vs 100.00 → +10 bps, weight 10 × 100 = 1,000 USD (live paid 1.00 USD more)
          live({ clientOrderId: A, status: 'filled', filledQty: '10', filledAvgPrice: '100.10' }),
          // B: sell 40, live 50.05 vs 50.00 → −10 bps, weight 40 × 50 = 2,000 USD (live received 2.00 USD more)
          live({ clientOrderId: B, symbol: 'MSFT', side: 'sell', type: 'market', qty: '40', limitPrice: null, stopLossPrice: null, status: 'filled', filledQty: '40', filledAvgPrice: '50.05' }),
          // C: rejected live → REJECTED_LIVE + FILLED_BACKTEST_ONLY
          live({ clientOrderId: C, symbol: 'JPM', status: 'rejected', atBroker: false }),
          // D: not decided → EXTRA_LIVE
          live({ clientOrderId: D, symbol: 'XOM' }),
        ],
      }),
    );
    expect(report.rows.map((r) => r.clientOrderId)).toEqual([A, C, B, D].sort());
    expect(report.totals).toEqual({
      ordersCompared: 4,
      ordersDiffering: 2,
      byCode: { REJECTED_LIVE: 1, FILLED_BACKTEST_ONLY: 1, EXTRA_LIVE: 1 },
      filledBoth: 2,
      backtestUnknown: 0,
      meanGapBps: 0, // (10 − 10) / 2
      // (10 × 1,000 − 10 × 2,000) / 3,000 = −3.33333… : net −1.00 USD on 3,000 USD of matched notional
      weightedMeanGapBps: -3.3333,
      maxAbsGapBps: 10,
    });
  });

  it('an empty session: nothing compared, no gap', () => {
    expect(computeDrift(input({})).totals).toEqual({
      ordersCompared: 0,
      ordersDiffering: 0,
      byCode: {},
      filledBoth: 0,
      backtestUnknown: 0,
      meanGapBps: null,
      weightedMeanGapBps: null,
      maxAbsGapBps: null,
    });
  });
});

describe('malformed input is refused with the field and the value', () => {
  it.each([
    ['a bad date', input({ tradingDate: '2018-2-7' }), 'tradingDate must be a date YYYY-MM-DD, got "2018-2-7"'],
    ['a negative qty', input({ backtestOrders: [bt({ qty: '-1' })], backtestFills: [unfilled(ID)] }), 'backtestOrders[0].qty must be > 0, got "-1"'],
    ['a non-decimal price', input({ backtestOrders: [bt({ limitPrice: 'abc' })], backtestFills: [unfilled(ID)] }), 'backtestOrders[0].limitPrice must be a decimal string, got "abc"'],
    ['a bad side', input({ liveOrders: [live({ side: 'hold' as never })] }), 'liveOrders[0].side must be buy or sell, got "hold"'],
    ['an empty id', input({ liveOrders: [live({ clientOrderId: '' })] }), 'liveOrders[0].clientOrderId must be a non-empty string, got ""'],
    ['a duplicated id', input({ liveOrders: [live(), live()] }), `liveOrders[1].clientOrderId is duplicated: "${ID}"`],
    ['a fill without a price', input({ liveOrders: [live({ filledQty: '3', filledAvgPrice: null })] }), 'liveOrders[0].filledAvgPrice is required when filledQty is 3, got null'],
    ['a negative filled qty', input({ liveOrders: [live({ filledQty: '-2' })] }), 'liveOrders[0].filledQty must be >= 0, got "-2"'],
    ['a backtest order without outcome', input({ backtestOrders: [bt()] }), `backtestFills has no outcome for backtest order "${ID}"`],
    ['an outcome for no order', input({ backtestFills: [unfilled('nope')] }), 'backtestFills[0].clientOrderId is not a backtest order, got "nope"'],
    ['two outcomes', input({ backtestOrders: [bt()], backtestFills: [unfilled(ID), unfilled(ID)] }), `backtestFills[1].clientOrderId is a second outcome for "${ID}"`],
    ['a filled outcome with a zero price', input({ backtestOrders: [bt()], backtestFills: [filled(ID, '10', '0')] }), 'backtestFills[0].avgPrice must be > 0, got "0"'],
    ['an outcome without reason', input({ backtestOrders: [bt()], backtestFills: [{ clientOrderId: ID, status: 'unknown', reason: '' }] }), 'backtestFills[0].reason must be a non-empty string, got ""'],
    ['a bad outcome status', input({ backtestOrders: [bt()], backtestFills: [{ clientOrderId: ID, status: 'maybe' } as never] }), 'backtestFills[0].status must be filled, unfilled, rejected or unknown, got "maybe"'],
    ['a symbol that differs between the sides', input({ backtestOrders: [bt()], backtestFills: [unfilled(ID)], liveOrders: [live({ symbol: 'MSFT' })] }), `liveOrders "${ID}" is buy MSFT but the backtest order is buy AAPL`],
  ] as const)('%s', (_label, bad, message) => {
    expect(() => computeDrift(bad)).toThrow(message);
  });
});
