/** Test fixture: a valid OTO limit entry as the orders step builds it (AAPL, 2018-02-07 unless overridden). */
import { deriveClientOrderId } from '../../lambdas/core/client-order-id';
import { createOrder, toSubmitRequest, type Order } from '../../lambdas/core/order';
import type { SubmitOrderRequest } from '../../lambdas/ports';

export interface EntryFixture {
  symbol?: string;
  tradingDate?: string;
  strategyId?: string;
  qty?: number | string;
  limitPrice?: string;
  stopLossPrice?: string;
  expiresAt?: string;
}

export function entryOrder(e: EntryFixture = {}): Order {
  const symbol = e.symbol ?? 'AAPL';
  const tradingDate = e.tradingDate ?? '2018-02-07';
  const strategyId = e.strategyId ?? 'momo1';
  return createOrder({
    clientOrderId: deriveClientOrderId({ strategyId, sessionDate: tradingDate, symbol, side: 'buy', purpose: 'entry' }),
    strategyId,
    tradingDate,
    symbol,
    side: 'buy',
    type: 'limit',
    timeInForce: 'gtc',
    orderClass: 'oto',
    purpose: 'entry',
    qty: String(e.qty ?? 10),
    limitPrice: e.limitPrice ?? '160.50',
    stopLossPrice: e.stopLossPrice ?? '152.10',
    expiresAt: e.expiresAt ?? `${tradingDate}T21:00:00.000Z`,
  });
}

/**
 * The broker request of the default entry fixture: AAPL buy 10 limit 160.50, OTO stop-loss 152.10,
 * gtc, client_order_id momo1-20180207-AAPL-b-en. Overrides apply to the request.
 */
export function entryRequest(overrides: Partial<SubmitOrderRequest> = {}): SubmitOrderRequest {
  return { ...toSubmitRequest(entryOrder()), ...overrides };
}
