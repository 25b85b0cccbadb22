import { describe, expect, it } from 'vitest';
import {
  AlpacaOrderSchema,
  AlpacaResponseError,
  parseAlpaca,
  toBrokerOrder,
  toCreateOrderBody,
  toUtcIso,
} from '../../../../lambdas/adapters/broker/alpaca/mapping';
import { ALPACA_ORDER_STATUSES } from '../../../../lambdas/core/order-status';
import { alpacaOrder } from './helpers';

const parseOrder = (value: unknown) => toBrokerOrder(parseAlpaca(AlpacaOrderSchema, value, 'GET /v2/orders/{order_id}'));

describe('order responses', () => {
  it('keeps decimal strings exactly as sent (no float round trip)', () => {
    const order = parseOrder(alpacaOrder({ qty: '10', limit_price: '160.50', filled_qty: '3', filled_avg_price: '160.4999' }));
    expect(order).toMatchObject({ qty: '10', limitPrice: '160.50', filledQty: '3', filledAvgPrice: '160.4999' });
  });

  it('legs: null → [], legs nested one level are mapped', () => {
    expect(parseOrder(alpacaOrder({ legs: null })).legs).toEqual([]);
    expect(parseOrder(alpacaOrder({ legs: undefined })).legs).toEqual([]);
    const parent = parseOrder(alpacaOrder({ order_class: 'bracket', legs: [alpacaOrder({ id: 'leg', status: 'held', legs: null })] }));
    expect(parent.legs).toEqual([expect.objectContaining({ id: 'leg', status: 'held', legs: [] })]);
  });

  it('accepts every status in ALPACA_ORDER_STATUSES', () => {
    for (const status of ALPACA_ORDER_STATUSES) expect(parseOrder(alpacaOrder({ status })).status).toBe(status);
  });

  it('refuses unexpected values, naming field and value', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ status: 'unknown_status' }, /status = "unknown_status"/],
      [{ type: 'trailing_stop' }, /type = "trailing_stop"/],
      [{ order_class: 'mleg' }, /order_class = "mleg"/],
      [{ qty: null, notional: '500' }, /qty = null/],
      [{ limit_price: 160.5 }, /limit_price = 160\.5/],
      [{ limit_price: '1e2' }, /limit_price = "1e2" \(expected a decimal string\)/],
      [{ side: 'sell_short' }, /side = "sell_short"/],
      [{ submitted_at: '2018-02-07 14:00:00' }, /submitted_at = "2018-02-07 14:00:00"/],
      [{ legs: [alpacaOrder({ status: 'bogus' })] }, /legs\[0\]\.status = "bogus"/],
    ];
    for (const [override, message] of cases) {
      let error: unknown;
      try {
        parseOrder(alpacaOrder(override));
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(override)).toBeInstanceOf(AlpacaResponseError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('submittedAt falls back to created_at', () => {
    expect(parseOrder(alpacaOrder({ submitted_at: null, created_at: '2018-02-07T14:00:01Z' })).submittedAt).toBe('2018-02-07T14:00:01.000Z');
  });
});

describe('toUtcIso', () => {
  it('truncates nanoseconds to ms and converts offsets to UTC', () => {
    expect(toUtcIso('2023-12-12T22:31:24.668464435Z')).toBe('2023-12-12T22:31:24.668Z');
    expect(toUtcIso('2022-05-16T16:32:24.14373588-04:00')).toBe('2022-05-16T20:32:24.143Z');
    expect(toUtcIso('2022-05-17T09:30:00-04:00')).toBe('2022-05-17T13:30:00.000Z');
    expect(toUtcIso('2022-05-17T09:30:00.9Z')).toBe('2022-05-17T09:30:00.900Z');
    expect(() => toUtcIso('2022-05-17')).toThrow('not an ISO-8601 timestamp with offset: "2022-05-17"');
  });
});

describe('toCreateOrderBody', () => {
  it('a stop exit: stop_price, no limit_price, no legs', () => {
    expect(
      toCreateOrderBody({ clientOrderId: 'x1', symbol: 'AAPL', side: 'sell', type: 'stop', timeInForce: 'day', orderClass: 'simple', qty: '5', stopPrice: '150.25' }),
    ).toEqual({ symbol: 'AAPL', qty: '5', side: 'sell', type: 'stop', time_in_force: 'day', order_class: 'simple', client_order_id: 'x1', stop_price: '150.25' });
  });

  it('a stop_limit needs both prices; a market order has none', () => {
    const base = { clientOrderId: 'x1', symbol: 'AAPL', side: 'sell', timeInForce: 'day', orderClass: 'simple', qty: '5' } as const;
    expect(() => toCreateOrderBody({ ...base, type: 'stop_limit', stopPrice: '150' })).toThrow('order limitPrice must be a positive decimal string, got undefined');
    expect(toCreateOrderBody({ ...base, type: 'stop_limit', stopPrice: '150', limitPrice: '149.5' })).toMatchObject({ stop_price: '150', limit_price: '149.5' });
    expect(() => toCreateOrderBody({ ...base, type: 'market', limitPrice: '150' })).toThrow('order limitPrice is not allowed for type market');
    expect(toCreateOrderBody({ ...base, type: 'market' })).not.toHaveProperty('limit_price');
  });

  it('an OTO may carry a take-profit instead of a stop-loss, never both', () => {
    const base = { clientOrderId: 'x1', symbol: 'AAPL', side: 'buy', type: 'limit', timeInForce: 'gtc', orderClass: 'oto', qty: '5', limitPrice: '100' } as const;
    expect(toCreateOrderBody({ ...base, takeProfit: { limitPrice: '110' } })).toMatchObject({ take_profit: { limit_price: '110' } });
    expect(() => toCreateOrderBody({ ...base, takeProfit: { limitPrice: '110' }, stopLoss: { stopPrice: '95' } })).toThrow(/both: use bracket/);
    expect(() => toCreateOrderBody({ ...base, stopLoss: { stopPrice: '-1' } })).toThrow('order stopLoss.stopPrice must be a positive decimal string, got "-1"');
  });
});
