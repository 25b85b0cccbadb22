import { describe, expect, it } from 'vitest';
import { entryRequest } from '../../support/orders';
import { BASE_DELAY_MS, isRetryable, MAX_ATTEMPTS, MAX_DELAY_MS, RetryingBroker } from '../../../lambdas/adapters/broker/retrying-broker';
import { BrokerError, BrokerTransportError, type SubmitOrderRequest } from '../../../lambdas/ports';
import { FakeBroker, MutableClock } from '../../support/fake-broker';

const request: SubmitOrderRequest = entryRequest();

function setup() {
  const inner = new FakeBroker(new MutableClock(new Date('2018-02-07T14:00:00Z')));
  const delays: number[] = [];
  const broker = new RetryingBroker(inner, { sleep: async (ms) => void delays.push(ms), random: () => 0.999 });
  return { inner, broker, delays };
}

describe('RetryingBroker: reads retried, writes never resent blindly', () => {
  it('classifies failures: 429 always; 5xx, 408 and transport errors only for reads', () => {
    expect(isRetryable(new BrokerError(429, 'too many requests'), true)).toBe(true);
    expect(isRetryable(new BrokerError(503, 'unavailable'), false)).toBe(true);
    expect(isRetryable(new BrokerError(503, 'unavailable'), true)).toBe(false);
    expect(isRetryable(new BrokerTransportError('timeout', 't'), false)).toBe(true);
    expect(isRetryable(new BrokerTransportError('timeout', 't'), true)).toBe(false);
    expect(isRetryable(new BrokerError(422, 'invalid'), false)).toBe(false);
    expect(isRetryable(new BrokerError(404, 'not found'), false)).toBe(false);
  });

  it('retries a read through 503s and a dropped connection, with capped exponential jittered backoff', async () => {
    const { inner, broker, delays } = setup();
    inner.failNext('getAccount', new BrokerError(503, 'unavailable')).failNext('getAccount', new BrokerTransportError('network', 'reset'));
    await expect(broker.getAccount()).resolves.toMatchObject({ cash: '100000' });
    expect(inner.callsTo('getAccount')).toHaveLength(3);
    expect(delays).toEqual([Math.floor(0.999 * BASE_DELAY_MS), Math.floor(0.999 * BASE_DELAY_MS * 2)]);
    expect(delays.every((d) => d <= MAX_DELAY_MS)).toBe(true);
  });

  it('gives up after MAX_ATTEMPTS and surfaces the last error', async () => {
    const { inner, broker } = setup();
    for (let i = 0; i < MAX_ATTEMPTS + 2; i++) inner.failNext('listPositions', new BrokerError(500, 'boom'));
    await expect(broker.listPositions()).rejects.toMatchObject({ status: 500 });
    expect(inner.callsTo('listPositions')).toHaveLength(MAX_ATTEMPTS);
  });

  it('retries a submission refused with 429 (nothing was processed)', async () => {
    const { inner, broker } = setup();
    inner.failNext('submitOrder', new BrokerError(429, 'too many requests'));
    await expect(broker.submitOrder(request)).resolves.toMatchObject({ clientOrderId: request.clientOrderId });
    expect(inner.callsTo('submitOrder')).toHaveLength(2);
    expect(inner.allOrders().filter((o) => o.clientOrderId === request.clientOrderId)).toHaveLength(1);
  });

  it.each([
    ['a 5xx', new BrokerError(502, 'bad gateway')],
    ['a timeout', new BrokerTransportError('timeout', 'timed out')],
  ])('never resends a submission after %s: the caller must look it up first', async (_label, error) => {
    const { inner, broker } = setup();
    inner.scriptSubmit({ kind: 'accept-then-fail', error });
    await expect(broker.submitOrder(request)).rejects.toBe(error);
    expect(inner.callsTo('submitOrder')).toHaveLength(1);
  });

  it('does not retry a definitive refusal (422) of a read or a write', async () => {
    const { inner, broker } = setup();
    inner.scriptSubmit({ kind: 'refuse', error: new BrokerError(422, 'invalid qty') });
    await expect(broker.submitOrder(request)).rejects.toMatchObject({ status: 422 });
    expect(inner.callsTo('submitOrder')).toHaveLength(1);
  });
});
