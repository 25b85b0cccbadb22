import { describe, expect, it } from 'vitest';
import { createOrder, toSubmitRequest } from '../../../lambdas/core/order';

const entry = {
  clientOrderId: 'momo1-20180207-AAPL-b-en',
  strategyId: 'momo1',
  tradingDate: '2018-02-07',
  symbol: 'AAPL',
  side: 'buy' as const,
  type: 'limit' as const,
  timeInForce: 'gtc' as const,
  orderClass: 'oto' as const,
  purpose: 'entry' as const,
  qty: '37',
  limitPrice: '160.33',
  stopLossPrice: '152.1',
  expiresAt: '2018-02-07T21:00:00.000Z',
};

describe('createOrder: immutable, validated at creation', () => {
  it('returns a frozen order', () => {
    const order = createOrder(entry);
    expect(Object.isFrozen(order)).toBe(true);
    expect(() => {
      (order as { qty: string }).qty = '1000';
    }).toThrow(TypeError);
  });

  it('maps to one OTO request carrying the stop-loss leg', () => {
    expect(toSubmitRequest(createOrder(entry))).toEqual({
      clientOrderId: 'momo1-20180207-AAPL-b-en',
      symbol: 'AAPL',
      side: 'buy',
      type: 'limit',
      timeInForce: 'gtc',
      orderClass: 'oto',
      qty: '37',
      limitPrice: '160.33',
      stopLoss: { stopPrice: '152.1' },
    });
  });

  it.each([
    [{ stopLossPrice: undefined }, /stopLossPrice=undefined: required for order_class oto: every entry carries its stop-loss/],
    [{ stopLossPrice: '161' }, /stopLossPrice="161": must be below the buy limit 160.33/],
    [{ limitPrice: 'abc' }, /limitPrice="abc": limitPrice must be a finite decimal/],
    [{ limitPrice: '-1' }, /limitPrice="-1"/],
    [{ orderClass: 'bracket' }, /takeProfitPrice=undefined: required for order_class bracket/],
    [{ takeProfitPrice: '170' }, /takeProfitPrice="170": only bracket orders carry a take-profit leg/],
    [{ orderClass: 'bracket', takeProfitPrice: '150' }, /takeProfitPrice="150": must be above the buy limit 160.33/],
    [{ side: 'sell', clientOrderId: 'momo1-20180207-AAPL-s-en', stopLossPrice: '170' }, /side="sell": entries are long only/],
    [{ qty: '0' }, /qty="0": must be a whole number of shares >= 1/],
    [{ qty: '1.5' }, /qty="1.5"/],
    [{ qty: '-3' }, /qty="-3"/],
    [{ side: 'short' }, /side="short"/],
    [{ timeInForce: 'gtd' }, /timeInForce="gtd"/],
    [{ type: 'market' }, /limitPrice="160.33": not allowed for type market/],
    [{ limitPrice: undefined }, /limitPrice=undefined: required for type limit/],
    [{ clientOrderId: 'momo1-20180207-MSFT-b-en' }, /clientOrderId="momo1-20180207-MSFT-b-en": must be the derived id momo1-20180207-AAPL-b-en/],
    [{ clientOrderId: 'x'.repeat(49) }, /clientOrderId/],
    [{ orderClass: 'simple' }, /stopLossPrice="152.1": only oto\/bracket orders carry a stop-loss leg/],
  ])('refuses %j and names the field and value', (override, message) => {
    expect(() => createOrder({ ...entry, ...(override as object) } as typeof entry)).toThrow(message);
  });

  it('rounds prices to the venue tick in the direction that never worsens the order', () => {
    // Buy limit rounds down (never pay more); the sell stop-loss rounds up (triggers no later).
    const o = createOrder({ ...entry, limitPrice: '160.339', stopLossPrice: '152.101' });
    expect(o.limitPrice).toBe('160.33');
    expect(o.stopLossPrice).toBe('152.11');
    // Numbers are accepted and land on the grid too.
    expect(createOrder({ ...entry, limitPrice: 160.3351, stopLossPrice: 152.1 }).limitPrice).toBe('160.33');
  });

  it('uses the sub-penny tick below $1', () => {
    const o = createOrder({ ...entry, limitPrice: '0.51239', stopLossPrice: '0.48001' });
    expect(o.limitPrice).toBe('0.5123');
    expect(o.stopLossPrice).toBe('0.4801');
  });

  it('rounds a sell limit up and a buy stop down', () => {
    const exit = { ...entry, clientOrderId: 'momo1-20180207-AAPL-s-rb', side: 'sell' as const, purpose: 'rebalance' as const, orderClass: 'simple' as const, stopLossPrice: undefined };
    expect(createOrder({ ...exit, limitPrice: '160.331' }).limitPrice).toBe('160.34');
    const buyStop = { ...entry, clientOrderId: 'momo1-20180207-AAPL-b-rb', purpose: 'rebalance' as const, orderClass: 'simple' as const, type: 'stop' as const, limitPrice: undefined, stopLossPrice: undefined };
    expect(createOrder({ ...buyStop, stopPrice: '160.339' }).stopPrice).toBe('160.33');
  });

  it('carries a take-profit leg on a bracket entry', () => {
    const o = createOrder({ ...entry, orderClass: 'bracket', takeProfitPrice: '175.004' });
    expect(o.takeProfitPrice).toBe('175.01');
    expect(toSubmitRequest(o)).toMatchObject({ orderClass: 'bracket', stopLoss: { stopPrice: '152.1' }, takeProfit: { limitPrice: '175.01' } });
  });

  it('allows fractional shares only when configured, and only as simple day orders', () => {
    const fractional = { ...entry, clientOrderId: 'momo1-20180207-AAPL-s-rb', side: 'sell' as const, purpose: 'rebalance' as const, orderClass: 'simple' as const, stopLossPrice: undefined, qty: '0.5', timeInForce: 'day' as const };
    expect(() => createOrder(fractional)).toThrow(/qty="0.5": must be a whole number of shares >= 1 \(fractional shares are not enabled\)/);
    expect(createOrder(fractional, { allowFractional: true }).qty).toBe('0.5');
    expect(() => createOrder({ ...fractional, timeInForce: 'gtc' }, { allowFractional: true })).toThrow(/qty="0.5": fractional orders must be time_in_force day and order_class simple/);
  });

  it('stores the exit kind explicitly and refuses an exit dressed as an OTO', () => {
    expect(() => createOrder({ ...entry, clientOrderId: 'momo1-20180207-AAPL-b-fl', purpose: 'flatten' })).toThrow(/orderClass="oto": exit orders \(flatten\) are simple orders/);
  });

  it('refuses unknown fields instead of carrying them silently', () => {
    expect(() => createOrder({ ...entry, notional: '100' } as typeof entry)).toThrow(/invalid order/);
  });
});
