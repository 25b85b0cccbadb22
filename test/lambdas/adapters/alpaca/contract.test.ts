/**
 * Contract tests against Alpaca's official OpenAPI spec (subset copied in
 * test/fixtures/contracts/alpaca, see its README): what the adapter sends validates against
 * CreateOrderRequest, the spec's own order examples and recorded clock/calendar answers parse with
 * the adapter's mappers, and the fake server's answers validate against Order/Account/Position.
 *
 * OpenAPI 3.1 schemas are JSON Schema 2020-12: ajv's 2020 mode, strict, with the spec registered
 * whole so `$ref: '#/components/schemas/...'` resolves, OpenAPI's `example` keyword allowed and
 * the formats the spec uses (date-time, date, uuid, decimal) checked.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlpacaBroker } from '../../../../lambdas/adapters/broker/alpaca/alpaca-broker';
import {
  AlpacaCalendarSchema,
  AlpacaClockSchema,
  AlpacaFillActivityListSchema,
  AlpacaOrderSchema,
  parseAlpaca,
  toAlpacaClock,
  toBrokerOrder,
  toSession,
} from '../../../../lambdas/adapters/broker/alpaca/mapping';
import type { SubmitOrderRequest } from '../../../../lambdas/ports';
import { startFakeAlpacaServer, type FakeAlpacaServer } from '../../../support/fake-alpaca-server';
import { FakeBroker, MutableClock, WINTER_WEEK } from '../../../support/fake-broker';
import { alpacaOrder, contract, json, keys, scriptedFetch } from './helpers';

const SPEC_ID = 'https://alpaca.markets/trading-api-subset.json';
const spec = contract('trading-api-subset.json') as {
  components: { schemas: Record<string, unknown>; examples: Record<string, { value: Record<string, unknown> }> };
};

const ajv = new Ajv2020({ strict: true, allErrors: true });
// OpenAPI's `example` annotation and the document's top-level sections are not JSON Schema
// keywords: declare them (no validation) so strict mode accepts the registered document.
ajv.addVocabulary(['example', 'openapi', 'info', 'paths', 'components']);
ajv.addFormat('date-time', (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) && Number.isFinite(Date.parse(s)));
ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
ajv.addFormat('decimal', /^-?\d+(\.\d+)?$/);
// The whole document as one schema resource, so `#/components/schemas/...` refs resolve in it.
ajv.addSchema(spec as object, SPEC_ID);

const validators = new Map<string, ValidateFunction>();
function schema(name: string): ValidateFunction {
  let v = validators.get(name);
  if (!v) {
    v = ajv.compile({ $ref: `${SPEC_ID}#/components/schemas/${name}` });
    validators.set(name, v);
  }
  return v;
}

/** Asserts `value` is valid against the spec's schema `name`, showing ajv's errors otherwise. */
function expectValid(name: string, value: unknown): void {
  const validate = schema(name);
  const ok = validate(value);
  expect(ok ? [] : validate.errors?.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual([]);
}

describe('the validator itself', () => {
  it('rejects what the spec rejects (so passing tests mean something)', () => {
    expect(schema('CreateOrderRequest')({ symbol: 'AAPL', qty: 10, side: 'buy', type: 'limit', time_in_force: 'gtc' })).toBe(false); // qty must be a string
    expect(schema('CreateOrderRequest')({ symbol: 'AAPL', qty: '10', side: 'buy', type: 'limit' })).toBe(false); // time_in_force required
    expect(schema('Order')({ ...spec.components.examples.EquityOrderResponse!.value, status: 'frozen' })).toBe(false);
    expect(schema('Order')({ ...spec.components.examples.EquityOrderResponse!.value, id: 'not-a-uuid' })).toBe(false);
  });
});

describe('request bodies the adapter sends validate against CreateOrderRequest', () => {
  const base: SubmitOrderRequest = {
    clientOrderId: 'momo1-20180207-AAPL-b-en',
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    timeInForce: 'gtc',
    orderClass: 'simple',
    qty: '10',
    limitPrice: '160.50',
  };
  const cases: Array<[string, SubmitOrderRequest]> = [
    ['simple limit', base],
    ['OTO with stop_loss', { ...base, orderClass: 'oto', stopLoss: { stopPrice: '152.10' } }],
    ['bracket with take_profit', { ...base, orderClass: 'bracket', stopLoss: { stopPrice: '152.10' }, takeProfit: { limitPrice: '175.00' } }],
    ['simple stop (an exit)', { ...base, side: 'sell', type: 'stop', limitPrice: undefined, stopPrice: '150.25', timeInForce: 'day' } as SubmitOrderRequest],
  ];

  it.each(cases)('%s', async (_name, request) => {
    const { fetch, calls } = scriptedFetch(() => json(200, alpacaOrder({ order_class: request.orderClass, legs: request.orderClass === 'simple' ? null : [alpacaOrder()] })));
    const broker = new AlpacaBroker({ credentials: keys(), fetch });
    await broker.submitOrder(JSON.parse(JSON.stringify(request)) as SubmitOrderRequest);
    const body = calls[0]!.body as Record<string, unknown>;
    expectValid('CreateOrderRequest', body);
    // quantities and prices are strings, like the spec's examples ("qty": "2", "limit_price": "150")
    expect(typeof body.qty).toBe('string');
    for (const key of ['limit_price', 'stop_price'] as const) if (key in body) expect(typeof body[key]).toBe('string');
  });
});

describe("the spec's order examples parse with the adapter's mapper", () => {
  const examples = spec.components.examples;

  it('the single-leg examples are valid Orders (sanity of the validator setup)', () => {
    for (const name of ['EquityOrderResponse', 'OptionOrderResponse', 'CryptoOrderResponse', 'IPOOrderResponse']) {
      expect(schema('Order')(examples[name]!.value), name).toBe(true);
    }
    // The spec's multi-leg example does not satisfy its own Order schema (asset_class "", symbol "",
    // side "", legs without a type): an upstream inconsistency, noted here so nobody "fixes" the validator.
    expect(schema('Order')(examples.MultilegOptionsOrderResponse!.value)).toBe(false);
  });

  it('EquityOrderResponse', () => {
    const order = toBrokerOrder(parseAlpaca(AlpacaOrderSchema, examples.EquityOrderResponse!.value, 'example'));
    expect(order).toEqual({
      id: '7b08df51-c1ac-453c-99f9-323a5f075f0d',
      clientOrderId: '5680c4bc-9ac1-4a12-a44c-df427ba53032',
      symbol: 'AAPL',
      side: 'buy',
      type: 'limit',
      timeInForce: 'gtc',
      orderClass: 'simple', // the example's order_class is ""
      qty: '2',
      filledQty: '0',
      filledAvgPrice: null,
      limitPrice: '150',
      stopPrice: null,
      status: 'accepted',
      submittedAt: '2023-12-12T22:31:24.577Z',
      filledAt: null,
      canceledAt: null,
      expiredAt: null,
      legs: [],
    });
  });

  it('the option and crypto examples parse too (same Order shape)', () => {
    expect(toBrokerOrder(parseAlpaca(AlpacaOrderSchema, examples.OptionOrderResponse!.value, 'example'))).toMatchObject({ symbol: 'AAPL250620C00100000', qty: '2', status: 'pending_new' });
    expect(toBrokerOrder(parseAlpaca(AlpacaOrderSchema, examples.CryptoOrderResponse!.value, 'example'))).toMatchObject({ symbol: 'ETH/USD', qty: '0.02' });
  });

  it('what the pipeline cannot represent is refused by field: a notional order (IPO) and a multi-leg option order', () => {
    expect(() => parseAlpaca(AlpacaOrderSchema, examples.IPOOrderResponse!.value, 'example')).toThrow(/^example: unexpected response value qty = null \(/);
    expect(() => parseAlpaca(AlpacaOrderSchema, examples.MultilegOptionsOrderResponse!.value, 'example')).toThrow(/unexpected response value \w+ = /);
  });
});

describe('recorded clock and calendar answers', () => {
  it('clock.json is a legacy_clock and parses', () => {
    const clock = contract('clock.json');
    expectValid('legacy_clock', clock);
    expect(toAlpacaClock(parseAlpaca(AlpacaClockSchema, clock, 'clock.json'))).toMatchObject({ isOpen: false, nextOpen: '2022-05-17T13:30:00.000Z' });
  });

  it('calendar.json is a legacy_public_calendar_resp and parses', () => {
    const calendar = contract('calendar.json');
    expectValid('legacy_public_calendar_resp', calendar);
    expect(parseAlpaca(AlpacaCalendarSchema, calendar, 'calendar.json').map(toSession)).toEqual([
      { date: '2025-01-02', openUtc: '2025-01-02T14:30:00.000Z', closeUtc: '2025-01-02T21:00:00.000Z' },
    ]);
  });
});

describe('the fake server stays honest: its answers validate against the spec', () => {
  let fake: FakeAlpacaServer;
  let backing: FakeBroker;
  let clock: MutableClock;
  const raw = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${fake.baseUrl}${path}`, {
      method,
      headers: { 'APCA-API-KEY-ID': 'fake-key-id', 'APCA-API-SECRET-KEY': 'fake-secret-key', 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    clock = new MutableClock(new Date('2018-02-07T14:00:00.000Z'));
    backing = new FakeBroker(clock);
    fake = await startFakeAlpacaServer({ broker: backing, sessions: WINTER_WEEK, clock });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('POST /v2/orders (OTO) and every order read validate against Order', async () => {
    const posted = await raw('POST', '/v2/orders', {
      symbol: 'AAPL',
      qty: '10',
      side: 'buy',
      type: 'limit',
      time_in_force: 'gtc',
      order_class: 'oto',
      client_order_id: 'momo1-20180207-AAPL-b-en',
      limit_price: '160.50',
      stop_loss: { stop_price: '152.10' },
    });
    expect(posted.status).toBe(200);
    expectValid('Order', posted.json);
    const order = posted.json as { id: string; legs: Array<{ id: string }> };
    expect(order.legs).toHaveLength(1);

    clock.set('2018-02-07T15:00:00.000Z');
    backing.fill('momo1-20180207-AAPL-b-en', '160.40');

    for (const path of [
      '/v2/orders?status=all',
      '/v2/orders?status=open&nested=true',
      '/v2/orders?status=closed&nested=true',
      `/v2/orders/${order.id}?nested=true`,
      `/v2/orders/${order.legs[0]!.id}`,
      '/v2/orders:by_client_order_id?client_order_id=momo1-20180207-AAPL-b-en',
    ]) {
      const { status, json: body } = await raw('GET', path);
      expect(status, path).toBe(200);
      for (const item of Array.isArray(body) ? body : [body]) expectValid('Order', item);
    }
  });

  it('GET /v2/account validates against Account, GET /v2/positions against Position', async () => {
    const account = await raw('GET', '/v2/account');
    expectValid('Account', account.json);
    const positions = await raw('GET', '/v2/positions');
    expect(positions.json).toHaveLength(1);
    for (const p of positions.json as unknown[]) expectValid('Position', p);
    expect(positions.json).toEqual([expect.objectContaining({ symbol: 'AAPL', qty: '10', side: 'long', avg_entry_price: '160.40', cost_basis: '1604', unrealized_pl: '0' })]);
  });

  it('clock and calendar validate; FILL activities match the adapter schema', async () => {
    expectValid('legacy_clock', (await raw('GET', '/v2/clock')).json);
    expectValid('legacy_public_calendar_resp', (await raw('GET', '/v2/calendar?start=2018-02-05&end=2018-02-09')).json);
    const activities = (await raw('GET', '/v2/account/activities/FILL?direction=asc')).json;
    expect(parseAlpaca(AlpacaFillActivityListSchema, activities, 'fake activities')).toHaveLength(1);
  });

  it('errors have Alpaca shape: 404 order not found, 401 without keys', async () => {
    expect(await raw('GET', '/v2/orders/00000000-0000-4000-8000-000000000000')).toEqual({ status: 404, json: { code: 40410000, message: 'order not found' } });
    const anonymous = await fetch(`${fake.baseUrl}/v2/account`);
    expect(anonymous.status).toBe(401);
  });
});
