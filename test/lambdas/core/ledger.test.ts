import { describe, expect, it } from 'vitest';
import {
  applyBrokerOrder,
  findUnprotectedPositions,
  intentRecord,
  isExpiredEntry,
  positionsFromFills,
  reconcilePositions,
  type LedgerFill,
  type LedgerOrder,
} from '../../../lambdas/core/ledger';
import { entryOrder } from '../../support/orders';
import type { BrokerOrder, BrokerPosition } from '../../../lambdas/ports';

const order = entryOrder({ limitPrice: '160.33', stopLossPrice: '152.1' });
const record: LedgerOrder = { ...intentRecord(order, 'run-1', '2018-02-07T14:00:00.000Z'), brokerOrderId: 'b-1', status: 'new' };

const broker = (over: Partial<BrokerOrder>): BrokerOrder => ({
  id: 'b-1',
  clientOrderId: order.clientOrderId,
  symbol: 'AAPL',
  side: 'buy',
  type: 'limit',
  timeInForce: 'gtc',
  orderClass: 'oto',
  qty: '10',
  filledQty: '0',
  filledAvgPrice: null,
  limitPrice: '160.33',
  stopPrice: null,
  status: 'new',
  submittedAt: '2018-02-07T14:00:00.000Z',
  filledAt: null,
  canceledAt: null,
  expiredAt: null,
  legs: [],
  ...over,
});

describe('applyBrokerOrder', () => {
  it('records a fill increment at the right price and adopts the status', () => {
    const update = applyBrokerOrder(record, broker({ status: 'filled', filledQty: '10', filledAvgPrice: '159.5', filledAt: '2018-02-07T14:30:00Z' }), 'run-1', 'now');
    expect(update.fill).toMatchObject({ qty: '10', price: '159.5', cumulativeQty: '10', sessionDate: '2018-02-07', purpose: 'entry' });
    expect(update.changes).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '159.5' });
    expect(update.anomaly).toBeUndefined();
  });

  it('derives the price of a second partial fill from the running averages', () => {
    const partial = { ...record, status: 'partially_filled' as const, filledQty: '4', filledAvgPrice: '100' };
    // 10 @ 103 average means the last 6 cost (1030 - 400) / 6 = 105
    const update = applyBrokerOrder(partial, broker({ status: 'filled', filledQty: '10', filledAvgPrice: '103', filledAt: '2018-02-07T15:00:00Z' }), 'r', 'now');
    expect(update.fill).toMatchObject({ qty: '6', price: '105', cumulativeQty: '10' });
  });

  it('a late fill after the ledger saw a cancel is still recorded, and flagged', () => {
    const canceled = { ...record, status: 'canceled' as const };
    const update = applyBrokerOrder(canceled, broker({ status: 'filled', filledQty: '10', filledAvgPrice: '159', filledAt: '2018-02-07T20:00:00Z' }), 'r', 'now');
    expect(update.fill?.qty).toBe('10');
    expect(update.changes?.status).toBe('filled');
    expect(update.anomaly).toMatch(/terminal status canceled changed to filled/);
  });

  it('never lets fills shrink: reports an anomaly and records nothing', () => {
    const filled = { ...record, status: 'filled' as const, filledQty: '10', filledAvgPrice: '159' };
    const update = applyBrokerOrder(filled, broker({ status: 'filled', filledQty: '6', filledAvgPrice: '159' }), 'r', 'now');
    expect(update.fill).toBeUndefined();
    expect(update.anomaly).toMatch(/fills never shrink/);
  });

  it('is a no-op when nothing changed (replays write nothing)', () => {
    expect(applyBrokerOrder(record, broker({}), 'r', 'now')).toEqual({});
  });
});

describe('positions and reconciliation', () => {
  const fill = (symbol: string, side: 'buy' | 'sell', qty: string): LedgerFill => ({
    clientOrderId: `${symbol}-${side}`,
    brokerOrderId: 'b',
    symbol,
    side,
    purpose: side === 'buy' ? 'entry' : 'stop_loss',
    qty,
    price: '1',
    cumulativeQty: qty,
    filledAt: 't',
    sessionDate: 'd',
    recordedAt: 't',
    runId: 'r',
  });
  const position = (symbol: string, qty: string): BrokerPosition => ({ symbol, qty, avgEntryPrice: '1', currentPrice: '1', marketValue: qty });

  it('nets buys and sells per symbol and drops flat symbols', () => {
    const positions = positionsFromFills([fill('AAA', 'buy', '10'), fill('AAA', 'sell', '4'), fill('BBB', 'buy', '5'), fill('BBB', 'sell', '5')]);
    expect([...positions].map(([s, q]) => [s, q.toString()])).toEqual([['AAA', '6']]);
  });

  it('agrees when the broker holds exactly the ledger positions', () => {
    expect(reconcilePositions(positionsFromFills([fill('AAA', 'buy', '10')]), [position('AAA', '10')])).toEqual([]);
  });

  it('reports zombie (broker only), phantom (ledger only) and size mismatches', () => {
    const ledger = positionsFromFills([fill('AAA', 'buy', '10'), fill('BBB', 'buy', '5')]);
    expect(reconcilePositions(ledger, [position('AAA', '12'), position('CCC', '3')])).toEqual([
      { symbol: 'AAA', ledgerQty: '10', brokerQty: '12' },
      { symbol: 'BBB', ledgerQty: '5', brokerQty: '0' },
      { symbol: 'CCC', ledgerQty: '0', brokerQty: '3' },
    ]);
  });

  it('finds long positions without a working stop, and partial cover', () => {
    const stop = broker({ id: 's', side: 'sell', type: 'stop', stopPrice: '150', qty: '6', status: 'new' });
    const heldLeg = broker({ id: 'h', symbol: 'BBB', side: 'sell', type: 'stop', stopPrice: '9', qty: '5', status: 'held' });
    const parent = broker({ id: 'p', symbol: 'BBB', legs: [heldLeg] });
    expect(findUnprotectedPositions([position('AAPL', '10'), position('BBB', '5')], [stop, parent])).toEqual([
      { symbol: 'AAPL', qty: '10', protectedQty: '6' },
      { symbol: 'BBB', qty: '5', protectedQty: '0' },
    ]);
  });
});

describe('isExpiredEntry', () => {
  it('is true only for open entries at or after expiresAt', () => {
    expect(isExpiredEntry(record, '2018-02-07T20:59:59.000Z')).toBe(false);
    expect(isExpiredEntry(record, '2018-02-07T21:00:00.000Z')).toBe(true);
    expect(isExpiredEntry({ ...record, status: 'filled' }, '2018-02-08T00:00:00.000Z')).toBe(false);
    expect(isExpiredEntry({ ...record, purpose: 'stop_loss' }, '2018-02-08T00:00:00.000Z')).toBe(false);
  });
});
