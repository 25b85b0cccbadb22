import { describe, expect, it } from 'vitest';
import {
  applyBrokerOrder,
  findUnknownOpenOrders,
  findUnprotectedPositions,
  intentRecord,
  isExpiredEntry,
  positionsFromFills,
  reconcilePositions,
  type LedgerFill,
  type LedgerOrder,
} from '../../../lambdas/core/ledger';
import { entryOrder } from '../../support/orders';
import type { BrokerExecution, BrokerOrder, BrokerPosition } from '../../../lambdas/ports';

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

const execution = (id: string, qty: string, price: string, cumQty: string, orderId = 'b-1'): BrokerExecution => ({
  id,
  orderId,
  symbol: 'AAPL',
  side: 'buy',
  qty,
  price,
  cumQty,
  transactionTime: '2018-02-07T14:31:00.000Z',
});

describe('applyBrokerOrder', () => {
  it('records a fill increment at the right price and adopts the status', () => {
    const update = applyBrokerOrder(record, broker({ status: 'filled', filledQty: '10', filledAvgPrice: '159.5', filledAt: '2018-02-07T14:30:00Z' }), 'run-1', 'now');
    expect(update.fills).toHaveLength(1);
    expect(update.fills[0]).toMatchObject({ qty: '10', price: '159.5', cumulativeQty: '10', sessionDate: '2018-02-07', purpose: 'entry', executionId: null });
    expect(update.changes).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '159.5' });
    expect(update.refused).toBeUndefined();
  });

  it('derives the price of a second partial fill from the running averages', () => {
    const partial = { ...record, status: 'partially_filled' as const, filledQty: '4', filledAvgPrice: '100' };
    // 10 @ 103 average means the last 6 cost (1030 - 400) / 6 = 105
    const update = applyBrokerOrder(partial, broker({ status: 'filled', filledQty: '10', filledAvgPrice: '103', filledAt: '2018-02-07T15:00:00Z' }), 'r', 'now');
    expect(update.fills).toEqual([expect.objectContaining({ qty: '6', price: '105', cumulativeQty: '10' })]);
  });

  it('takes exact prices and ids from the broker executions, one fill per execution', () => {
    const update = applyBrokerOrder(record, broker({ status: 'filled', filledQty: '10', filledAvgPrice: '103' }), 'r', 'now', [
      execution('x1', '4', '100', '4'),
      execution('x2', '6', '105', '10'),
      execution('other', '6', '1', '6', 'b-2'), // another order's execution is ignored
    ]);
    expect(update.fills.map((f) => [f.executionId, f.qty, f.price, f.cumulativeQty])).toEqual([
      ['x1', '4', '100', '4'],
      ['x2', '6', '105', '10'],
    ]);
  });

  it('REPLAYED FILL: an execution reported again (same id) yields no second fill', () => {
    const once = applyBrokerOrder(record, broker({ status: 'filled', filledQty: '10', filledAvgPrice: '100' }), 'r', 'now', [execution('x1', '10', '100', '10')]);
    expect(once.fills).toHaveLength(1);
    const after = { ...record, ...once.changes } as LedgerOrder;
    const replay = applyBrokerOrder(after, broker({ status: 'filled', filledQty: '10', filledAvgPrice: '100' }), 'r', 'now', [
      execution('x1', '10', '100', '10'),
      execution('x1', '10', '100', '10'),
    ]);
    expect(replay).toEqual({ fills: [] });
  });

  it('never takes more from executions than the order reports filled (a stale order read)', () => {
    const update = applyBrokerOrder(record, broker({ status: 'partially_filled', filledQty: '4', filledAvgPrice: '100' }), 'r', 'now', [
      execution('x1', '4', '100', '4'),
      execution('x2', '6', '105', '10'),
    ]);
    expect(update.fills.map((f) => f.executionId)).toEqual(['x1']);
    expect(update.changes?.filledQty).toBe('4');
  });

  it('a late fill after the ledger saw a cancel is applied as a fill, and flagged', () => {
    const canceled = { ...record, status: 'canceled' as const };
    const update = applyBrokerOrder(canceled, broker({ status: 'filled', filledQty: '10', filledAvgPrice: '159', filledAt: '2018-02-07T20:00:00Z' }), 'r', 'now');
    expect(update.fills[0]?.qty).toBe('10');
    expect(update.changes?.status).toBe('filled');
    expect(update.lateFill).toMatch(/filled 10 more after the ledger saw canceled; applied as a fill/);
    expect(update.refused).toBeUndefined();
  });

  it('PHANTOM POSITION: canceled with filled qty > 0 and a price is a fill; with 0 it is only a cancel', () => {
    const phantom = applyBrokerOrder(record, broker({ status: 'canceled', filledQty: '3', filledAvgPrice: '159.9', canceledAt: '2018-02-07T21:00:00Z' }), 'r', '2018-02-07T21:15:00.000Z');
    expect(phantom.fills).toEqual([expect.objectContaining({ qty: '3', price: '159.9', filledAt: '2018-02-07T21:00:00Z' })]);
    expect(phantom.changes).toMatchObject({ status: 'canceled', filledQty: '3' });
    const plain = applyBrokerOrder(record, broker({ status: 'canceled', filledQty: '0' }), 'r', 'now');
    expect(plain.fills).toEqual([]);
    expect(plain.changes).toMatchObject({ status: 'canceled' });
    expect(plain.changes?.filledQty).toBeUndefined();
  });

  it('refuses a fill it cannot value (filled qty without an average price): nothing applied', () => {
    const update = applyBrokerOrder(record, broker({ status: 'canceled', filledQty: '3', filledAvgPrice: null }), 'r', 'now');
    expect(update.fills).toEqual([]);
    expect(update.changes).toBeUndefined();
    expect(update.refused).toMatch(/without an average fill price/);
  });

  it('never lets fills shrink: refuses and records nothing', () => {
    const filled = { ...record, status: 'filled' as const, filledQty: '10', filledAvgPrice: '159' };
    const update = applyBrokerOrder(filled, broker({ status: 'filled', filledQty: '6', filledAvgPrice: '159' }), 'r', 'now');
    expect(update.fills).toEqual([]);
    expect(update.changes).toBeUndefined();
    expect(update.refused).toMatch(/fills never shrink/);
  });

  it('refuses an illegal transition (filled → canceled) instead of applying it', () => {
    const filled = { ...record, status: 'filled' as const, filledQty: '10', filledAvgPrice: '159' };
    const update = applyBrokerOrder(filled, broker({ status: 'canceled', filledQty: '10', filledAvgPrice: '159' }), 'r', 'now');
    expect(update.changes).toBeUndefined();
    expect(update.refused).toMatch(/illegal transition filled → canceled/);
  });

  it('refuses a broker order id that changed under the same client_order_id', () => {
    const update = applyBrokerOrder(record, broker({ id: 'b-other', status: 'filled', filledQty: '10', filledAvgPrice: '1' }), 'r', 'now');
    expect(update.fills).toEqual([]);
    expect(update.refused).toMatch(/broker order id changed from b-1 to b-other/);
  });

  it('is a no-op when nothing changed (replays write nothing)', () => {
    expect(applyBrokerOrder(record, broker({}), 'r', 'now')).toEqual({ fills: [] });
  });
});

describe('positions and reconciliation', () => {
  const fill = (symbol: string, side: 'buy' | 'sell', qty: string): LedgerFill => ({
    clientOrderId: `${symbol}-${side}`,
    brokerOrderId: 'b',
    executionId: null,
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

  it('classifies broker_only (zombie), local_only (phantom) and quantity_mismatch', () => {
    const ledger = positionsFromFills([fill('AAA', 'buy', '10'), fill('BBB', 'buy', '5')]);
    expect(reconcilePositions(ledger, [position('AAA', '12'), position('CCC', '3')])).toEqual([
      { kind: 'quantity_mismatch', symbol: 'AAA', ledgerQty: '10', brokerQty: '12' },
      { kind: 'local_only', symbol: 'BBB', ledgerQty: '5', brokerQty: '0' },
      { kind: 'broker_only', symbol: 'CCC', ledgerQty: '0', brokerQty: '3' },
    ]);
  });

  it('finds open broker orders the ledger never wrote, legs included', () => {
    const leg = broker({ id: 'l', clientOrderId: 'leg-1', side: 'sell', type: 'stop', status: 'held' });
    const known = broker({ legs: [leg] });
    const stranger = broker({ id: 'x', clientOrderId: 'by-hand', symbol: 'MSFT' });
    expect(findUnknownOpenOrders(new Set([order.clientOrderId, 'leg-1']), [known, stranger])).toEqual([
      { kind: 'unknown_open_order', symbol: 'MSFT', clientOrderId: 'by-hand', brokerOrderId: 'x', status: 'new' },
    ]);
    expect(findUnknownOpenOrders(new Set([order.clientOrderId]), [known])).toEqual([
      { kind: 'unknown_open_order', symbol: 'AAPL', clientOrderId: 'leg-1', brokerOrderId: 'l', status: 'held' },
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

  it('HELD STOP LEG: a held stop under a FILLED parent protects (Alpaca holds a bracket stop while its OCO sibling works)', () => {
    const heldLeg = broker({ id: 'h', symbol: 'BBB', side: 'sell', type: 'stop', stopPrice: '9', qty: '5', status: 'held' });
    const filledParent = broker({ id: 'p', symbol: 'BBB', status: 'filled', qty: '5', filledQty: '5', filledAvgPrice: '10', legs: [heldLeg] });
    expect(findUnprotectedPositions([position('BBB', '5')], [filledParent])).toEqual([]);
    // On its own (parent unknown) a held stop protects nothing.
    expect(findUnprotectedPositions([position('BBB', '5')], [heldLeg])).toEqual([{ symbol: 'BBB', qty: '5', protectedQty: '0' }]);
    // Fills decide, not status: a fully filled parent reported `canceled` still has a live leg; a partly filled one does not.
    const phantom = { ...filledParent, status: 'canceled' as const };
    expect(findUnprotectedPositions([position('BBB', '5')], [phantom])).toEqual([]);
    const partly = { ...filledParent, status: 'canceled' as const, filledQty: '2' };
    expect(findUnprotectedPositions([position('BBB', '5')], [partly])).toEqual([{ symbol: 'BBB', qty: '5', protectedQty: '0' }]);
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
