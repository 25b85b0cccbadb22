import { describe, expect, it } from 'vitest';
import type { OrderPurpose } from '../../../lambdas/core/client-order-id';
import type { LedgerFill } from '../../../lambdas/core/ledger';
import { closedTrades, consecutiveLosses, type ClosedTrade } from '../../../lambdas/core/trades';

/** A ledger fill; filledAt is 15:00 UTC (10:00 New York) on the given session date unless given. */
function fill(
  symbol: string,
  side: 'buy' | 'sell',
  qty: string,
  price: string,
  sessionDate: string,
  over: Partial<LedgerFill> & { purpose?: OrderPurpose } = {},
): LedgerFill {
  const purpose = over.purpose ?? (side === 'buy' ? 'entry' : 'rebalance');
  return {
    clientOrderId: `s1-${sessionDate.replaceAll('-', '')}-${symbol}-${side === 'buy' ? 'b' : 's'}-${purpose}`,
    brokerOrderId: `b-${symbol}-${sessionDate}-${side}`,
    executionId: null,
    symbol,
    side,
    purpose,
    qty,
    price,
    cumulativeQty: qty,
    filledAt: `${sessionDate}T15:00:00.000Z`,
    sessionDate,
    recordedAt: `${sessionDate}T21:00:00.000Z`,
    runId: 'run-1',
    ...over,
  };
}

describe('closedTrades', () => {
  it('a single round trip: pnl = (exit − entry) × qty', () => {
    const trades = closedTrades([fill('AAA', 'buy', '10', '100', '2018-01-02'), fill('AAA', 'sell', '10', '110', '2018-01-05')]);
    // (110 − 100) × 10 = 100; cost 10 × 100 = 1000; return 100/1000 = 0.1
    expect(trades).toEqual([
      {
        symbol: 'AAA',
        qty: '10',
        entryPrice: '100',
        exitPrice: '110',
        entryAt: '2018-01-02T15:00:00.000Z',
        entrySessionDate: '2018-01-02',
        exitAt: '2018-01-05T15:00:00.000Z',
        exitSessionDate: '2018-01-05',
        costBasis: '1000',
        pnl: '100',
        returnFraction: '0.1',
        exitPurpose: 'rebalance',
        exitClientOrderId: 's1-20180105-AAA-s-rebalance',
      },
    ]);
  });

  it('partial exits across two lots, FIFO, then a stop-loss exit of the rest', () => {
    const fills = [
      fill('AAA', 'buy', '10', '100', '2018-01-02'),
      fill('AAA', 'buy', '10', '110', '2018-01-03'),
      fill('AAA', 'sell', '15', '120', '2018-01-04', { purpose: 'take_profit' }),
      fill('AAA', 'sell', '5', '105', '2018-01-05', { purpose: 'stop_loss' }),
    ];
    const [first, second, ...rest] = closedTrades(fills);
    expect(rest).toEqual([]);
    // first sell 15: all of lot 1 (10 @ 100) + 5 of lot 2 (@ 110): cost 1000 + 550 = 1550;
    // entry = 1550/15 = 103.333333…; pnl = 15 × 120 − 1550 = 1800 − 1550 = 250; return 250/1550 = 0.1612903226
    expect(first).toMatchObject({
      qty: '15',
      entryPrice: '103.333333',
      exitPrice: '120',
      entryAt: '2018-01-02T15:00:00.000Z',
      costBasis: '1550',
      pnl: '250',
      returnFraction: '0.1612903226',
      exitPurpose: 'take_profit',
    });
    // second sell 5: the 5 left of lot 2 (@ 110); pnl = (105 − 110) × 5 = −25; return −25/550 = −0.0454545455
    expect(second).toMatchObject({
      qty: '5',
      entryPrice: '110',
      exitPrice: '105',
      entryAt: '2018-01-03T15:00:00.000Z',
      entrySessionDate: '2018-01-03',
      costBasis: '550',
      pnl: '-25',
      returnFraction: '-0.0454545455',
      exitPurpose: 'stop_loss',
      exitSessionDate: '2018-01-05',
    });
  });

  it('is exact in decimal where floats are not', () => {
    // buy 3 @ 10.10, sell 3 @ 10.30: (10.30 − 10.10) × 3 = 0.6 (in floats 0.6000000000000014)
    const [t] = closedTrades([fill('AAA', 'buy', '3', '10.10', '2018-01-02'), fill('AAA', 'sell', '3', '10.30', '2018-01-03')]);
    expect(t!.pnl).toBe('0.6');
    // lots 1 @ 10 and 2 @ 10.01, sold 3 @ 11: cost 10 + 20.02 = 30.02; entry 30.02/3 = 10.006667 (6 dp);
    // pnl = 33 − 30.02 = 2.98 exactly (not (11 − 10.006667) × 3 = 2.979999)
    const [u] = closedTrades([
      fill('BBB', 'buy', '1', '10', '2018-01-02'),
      fill('BBB', 'buy', '2', '10.01', '2018-01-03'),
      fill('BBB', 'sell', '3', '11', '2018-01-04'),
    ]);
    expect(u).toMatchObject({ entryPrice: '10.006667', costBasis: '30.02', pnl: '2.98' });
  });

  it('handles fractional shares and tiny P&L in plain notation', () => {
    // 0.5 sh @ 100.00, sold @ 100.0001: pnl = 0.0001 × 0.5 = 0.00005 (toString would say 5e-5)
    const [t] = closedTrades([fill('AAA', 'buy', '0.5', '100', '2018-01-02'), fill('AAA', 'sell', '0.5', '100.0001', '2018-01-03')]);
    expect(t).toMatchObject({ qty: '0.5', pnl: '0.00005', returnFraction: '0.000001' }); // 0.00005/50
  });

  it('replays fills by filledAt whatever order they are given in', () => {
    const buyOld = fill('AAA', 'buy', '10', '100', '2018-01-02');
    const buyNew = fill('AAA', 'buy', '10', '110', '2018-01-03');
    const sell = fill('AAA', 'sell', '10', '120', '2018-01-04');
    // FIFO closes the 2018-01-02 lot: (120 − 100) × 10 = 200 (LIFO or input order would give 100)
    expect(closedTrades([sell, buyNew, buyOld])[0]).toMatchObject({ pnl: '200', entryAt: buyOld.filledAt });
  });

  it('ties on filledAt: buys before sells, then cumulativeQty compared as decimals', () => {
    const at = '2018-01-02T15:00:00.000Z';
    // one buy order filled in two increments at the same instant: 5 @ 100 (cum 5), then 5 @ 101 (cum 10);
    // a sell of 5 stamped the same instant, listed first. Sorting "10" < "5" as strings, or the
    // sell first, would give a different pnl or an oversell.
    const fills = [
      fill('AAA', 'sell', '5', '102', '2018-01-02', { filledAt: at }),
      fill('AAA', 'buy', '5', '101', '2018-01-02', { filledAt: at, cumulativeQty: '10' }),
      fill('AAA', 'buy', '5', '100', '2018-01-02', { filledAt: at, cumulativeQty: '5' }),
    ];
    // FIFO: the cum-5 increment @ 100 closes: (102 − 100) × 5 = 10
    expect(closedTrades(fills)).toMatchObject([{ qty: '5', entryPrice: '100', pnl: '10' }]);
  });

  it('keeps symbols apart and sorts the result by exitAt, then symbol', () => {
    const fills = [
      fill('ZZZ', 'buy', '1', '50', '2018-01-02'),
      fill('AAA', 'buy', '2', '20', '2018-01-02'),
      fill('MMM', 'buy', '1', '30', '2018-01-02'),
      fill('ZZZ', 'sell', '1', '40', '2018-01-03'), // −10
      fill('MMM', 'sell', '1', '33', '2018-01-04'), // +3
      fill('AAA', 'sell', '2', '21', '2018-01-03'), // (21 − 20) × 2 = +2
    ];
    const trades = closedTrades(fills);
    expect(trades.map((t) => [t.symbol, t.exitSessionDate, t.pnl])).toEqual([
      ['AAA', '2018-01-03', '2'],
      ['ZZZ', '2018-01-03', '-10'],
      ['MMM', '2018-01-04', '3'],
    ]);
  });

  it('does not report lots still open', () => {
    expect(closedTrades([fill('AAA', 'buy', '10', '100', '2018-01-02')])).toEqual([]);
    expect(closedTrades([])).toEqual([]);
  });

  it('throws on a sell exceeding the open lots, naming symbol, clientOrderId and quantities', () => {
    const fills = [fill('AAA', 'buy', '10', '100', '2018-01-02'), fill('AAA', 'sell', '15', '110', '2018-01-03')];
    expect(() => closedTrades(fills)).toThrow(
      'closedTrades: AAA sell fill s1-20180103-AAA-s-rebalance (cumulativeQty 15) of 15 shares exceeds the open long of 10 shares',
    );
    // a sell before any buy (by filledAt) oversells too, even when a later buy covers it
    const early = [fill('BBB', 'buy', '10', '100', '2018-01-03'), fill('BBB', 'sell', '10', '110', '2018-01-02')];
    expect(() => closedTrades(early)).toThrow('of 10 shares exceeds the open long of 0 shares');
    // another symbol's lots do not cover it
    const other = [fill('AAA', 'buy', '10', '100', '2018-01-02'), fill('BBB', 'sell', '1', '110', '2018-01-03')];
    expect(() => closedTrades(other)).toThrow('BBB sell fill');
  });

  it('rejects malformed fills naming the fill and the value', () => {
    const buy = fill('AAA', 'buy', '10', '100', '2018-01-02');
    expect(() => closedTrades([{ ...buy, qty: '0' }])).toThrow(`fill ${buy.clientOrderId}.qty must be > 0, got "0"`);
    expect(() => closedTrades([{ ...buy, price: 'abc' }])).toThrow(`fill ${buy.clientOrderId}.price must be a finite decimal, got "abc"`);
    expect(() => closedTrades([{ ...buy, filledAt: 'yesterday' }])).toThrow(`fill ${buy.clientOrderId}.filledAt must be an ISO-8601 time, got "yesterday"`);
  });
});

describe('consecutiveLosses', () => {
  const t = (pnl: string): ClosedTrade => ({ pnl }) as ClosedTrade;

  it('counts the trailing trades with pnl < 0', () => {
    expect(consecutiveLosses([t('5'), t('-1'), t('-0.01')])).toBe(2);
    expect(consecutiveLosses([t('-3'), t('-2'), t('-1')])).toBe(3);
  });

  it('a win or a zero pnl at the end breaks the streak', () => {
    expect(consecutiveLosses([t('-3'), t('-2'), t('1')])).toBe(0);
    expect(consecutiveLosses([t('-3'), t('0')])).toBe(0);
    expect(consecutiveLosses([t('-3'), t('0'), t('-1')])).toBe(1);
  });

  it('is 0 for no trades', () => {
    expect(consecutiveLosses([])).toBe(0);
  });

  it('works on closedTrades output', () => {
    const trades = closedTrades([
      fill('AAA', 'buy', '10', '100', '2018-01-02'),
      fill('AAA', 'sell', '5', '90', '2018-01-03', { purpose: 'stop_loss' }), // −50
      fill('AAA', 'sell', '5', '95', '2018-01-04', { purpose: 'stop_loss' }), // −25
    ]);
    expect(consecutiveLosses(trades)).toBe(2);
  });

  it('throws on a bad pnl naming the index', () => {
    expect(() => consecutiveLosses([t('-1'), t('oops')])).toThrow('trades[1].pnl must be a finite decimal, got "oops"');
  });
});
