/** Shared doubles for the Alpaca adapter tests: a scripted fetch, a manual clock, fixture loading. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiCredentials, SecretsPort } from '../../../../lambdas/ports';

/** The fixtures copied from ../shared/contracts/alpaca. */
export const CONTRACTS_DIR = join(import.meta.dirname, '../../../fixtures/contracts/alpaca');

/** Parsed JSON of a contract fixture file. */
export function contract(name: string): unknown {
  return JSON.parse(readFileSync(join(CONTRACTS_DIR, name), 'utf8'));
}

/** One request the adapter made through the injected fetch. */
export interface CapturedRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** Parsed JSON body, undefined when none. */
  body: unknown;
  signal: AbortSignal | undefined;
}

export type Handler = (request: CapturedRequest, index: number) => Response | Promise<Response>;

/** A fetch that records every request and answers with `handler` (or a FIFO of handlers). */
export function scriptedFetch(handler: Handler | Handler[]) {
  const calls: CapturedRequest[] = [];
  const queue = Array.isArray(handler) ? [...handler] : undefined;
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const request: CapturedRequest = {
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      headers,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      signal: init?.signal ?? undefined,
    };
    calls.push(request);
    const next = queue ? queue.shift() : (handler as Handler);
    if (!next) throw new Error(`scriptedFetch: no handler left for request #${calls.length} ${request.method} ${request.url}`);
    return next(request, calls.length - 1);
  }) as typeof fetch;
  return { fetch: fetchImpl, calls };
}

/** A JSON response. */
export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

/** A 204 No Content. */
export const noContent = (): Response => new Response(null, { status: 204 });

/** A fetch failure like undici's (`TypeError: fetch failed`, cause ECONNRESET). */
export const networkFailure = (): never => {
  throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
};

/** Never answers; rejects like fetch does when the request's signal aborts (the adapter's timeout). */
export const hang = (request: CapturedRequest): Promise<Response> =>
  new Promise((_resolve, reject) => {
    request.signal?.addEventListener('abort', () => reject(request.signal!.reason));
  });

/** Manual time: `sleep` advances `now` instantly and records the wait. */
export class ManualTime {
  readonly sleeps: number[] = [];
  constructor(public t = Date.parse('2025-01-02T15:00:00Z')) {}
  now = (): number => this.t;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += ms;
  };
}

/** Credentials as a SecretsPort. */
export const keys = (credentials: ApiCredentials = { APCA_API_KEY_ID: 'AKTEST', APCA_API_SECRET_KEY: 'secret-123' }): SecretsPort & { reads: number } => {
  const port = {
    reads: 0,
    async getCredentials() {
      port.reads += 1;
      return { ...credentials };
    },
  };
  return port;
};

/** An Alpaca order JSON (Order schema shape) with overrides. */
export function alpacaOrder(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '61e69015-8549-4bfd-b9c3-01e75843f47d',
    client_order_id: 'momo1-20180207-AAPL-b-en',
    created_at: '2018-02-07T14:00:00.123456789Z',
    updated_at: '2018-02-07T14:00:00.123456789Z',
    submitted_at: '2018-02-07T14:00:00.120000001Z',
    filled_at: null,
    expired_at: null,
    canceled_at: null,
    failed_at: null,
    replaced_at: null,
    replaced_by: null,
    replaces: null,
    asset_id: 'b0b6dd9d-8b9b-48a9-ba46-b9d54906e415',
    symbol: 'AAPL',
    asset_class: 'us_equity',
    notional: null,
    qty: '10',
    filled_qty: '0',
    filled_avg_price: null,
    order_class: 'simple',
    order_type: 'limit',
    type: 'limit',
    side: 'buy',
    time_in_force: 'gtc',
    limit_price: '160.5',
    stop_price: null,
    status: 'new',
    extended_hours: false,
    legs: null,
    trail_percent: null,
    trail_price: null,
    hwm: null,
    ...overrides,
  };
}
