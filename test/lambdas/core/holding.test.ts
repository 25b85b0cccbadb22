import { describe, expect, it } from 'vitest';
import { holdingPeriodExits, oldestOpenLotDates } from '../../../lambdas/core/holding';
import type { LedgerFill } from '../../../lambdas/core/ledger';

const fill = (symbol: string, side: 'buy' | 'sell', qty: string, sessionDate: string, id = `${symbol}-${side}-${sessionDate}`): LedgerFill => ({
  clientOrderId: id,
  brokerOrderId: `b-${id}`,
  executionId: `e-${id}`,
  symbol,
  side,
  purpose: side === 'buy' ? 'entry' : 'stop_loss',
  qty,
  price: '10',
  cumulativeQty: qty,
  filledAt: `${sessionDate}T15:00:00.000Z`,
  sessionDate,
  recordedAt: `${sessionDate}T21:00:00.000Z`,
  runId: 'r',
});

describe('oldestOpenLotDates (FIFO, as closedTrades)', () => {
  it('dates each open long by its oldest open lot; closed symbols are absent', () => {
    const dates = oldestOpenLotDates([
      fill('AAA', 'buy', '10', '2017-01-03'),
      fill('AAA', 'buy', '5', '2017-01-05'),
      fill('AAA', 'sell', '10', '2017-01-06'), // closes the 01-03 lot: the 01-05 lot remains
      fill('BBB', 'buy', '10', '2017-01-03'),
      fill('BBB', 'sell', '4', '2017-01-04'), // part of the 01-03 lot remains
      fill('CCC', 'buy', '10', '2017-01-03'),
      fill('CCC', 'sell', '10', '2017-01-04'),
    ]);
    expect(dates).toEqual({ AAA: '2017-01-05', BBB: '2017-01-03' });
  });
});

describe('holdingPeriodExits', () => {
  const account = {
    positions: [
      { symbol: 'BBB', qty: '7', avgEntryPrice: '10', marketValue: '70' },
      { symbol: 'AAA', qty: '5', avgEntryPrice: '10', marketValue: '50' },
      { symbol: 'NEW', qty: '3', avgEntryPrice: '10', marketValue: '30' },
      { symbol: 'UND', qty: '2', avgEntryPrice: '10', marketValue: '20' },
    ],
  } as unknown as Parameters<typeof holdingPeriodExits>[0];

  it('sells every long held for at least h sessions (entry session and today counted), symbols ascending', () => {
    // Entered Monday, today Friday: 5 sessions → due with h = 5; NEW held 4 → not yet; UND undated → never.
    const exits = holdingPeriodExits(account, { AAA: 5, BBB: 9, NEW: 4 }, 5);
    expect(exits).toEqual([
      { kind: 'exit', symbol: 'AAA', side: 'sell', qty: '5', purpose: 'rebalance', cause: 'HOLDING_PERIOD: AAA held 5 sessions >= 5' },
      { kind: 'exit', symbol: 'BBB', side: 'sell', qty: '7', purpose: 'rebalance', cause: 'HOLDING_PERIOD: BBB held 9 sessions >= 5' },
    ]);
  });

  it('h = 0 turns holding exits off', () => {
    expect(holdingPeriodExits(account, { AAA: 50 }, 0)).toEqual([]);
  });
});
