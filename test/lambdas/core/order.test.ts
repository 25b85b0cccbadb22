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
    [{ limitPrice: '160.333' }, /limitPrice="160.333": must be on the venue tick/],
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

  it('accepts the sub-penny tick below $1', () => {
    expect(() => createOrder({ ...entry, limitPrice: '0.5123', stopLossPrice: '0.4801' })).not.toThrow();
    expect(() => createOrder({ ...entry, limitPrice: '0.51235', stopLossPrice: '0.4801' })).toThrow(/limitPrice="0.51235"/);
  });

  it('refuses unknown fields instead of carrying them silently', () => {
    expect(() => createOrder({ ...entry, notional: '100' } as typeof entry)).toThrow(/invalid order/);
  });
});
