/**
 * The port-level retry policy for a broker that has none of its own (the paper broker behind the
 * fault injector; the Alpaca adapter applies the same policy at the HTTP level itself):
 *
 * - Reads (account, positions, orders, order lookups, executions) are idempotent: retried on 429,
 *   408, 5xx and transport errors (timeout, dropped connection).
 * - Writes (submit, cancel) are retried ONLY on 429, which means the request was refused before
 *   it was processed. A 5xx, a timeout or a lost response on a write may have taken effect: it is
 *   surfaced to the caller, whose protocol looks the order up by client_order_id before anything
 *   else (never a blind resend).
 *
 * Backoff: exponential from BASE_DELAY_MS, capped at MAX_DELAY_MS, with full jitter
 * (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015), at most MAX_ATTEMPTS tries.
 */
import pRetry, { AbortError } from 'p-retry';
import {
  BrokerError,
  BrokerTransportError,
  type BrokerAccount,
  type BrokerExecution,
  type BrokerOrder,
  type BrokerPort,
  type BrokerPosition,
  type SubmitOrderRequest,
} from '../../ports';

/** Tries per call, the first included. */
export const MAX_ATTEMPTS = 8;
/** First backoff step, ms (before jitter). */
export const BASE_DELAY_MS = 50;
/** Cap of one backoff step, ms. */
export const MAX_DELAY_MS = 2_000;

/**
 * True for a failure that says nothing was processed (429), or, for reads (`write` false), any
 * transient failure: 408, 5xx, timeout or dropped connection.
 */
export function isRetryable(error: unknown, write: boolean): boolean {
  if (error instanceof BrokerError) {
    if (error.status === 429) return true;
    return !write && (error.status === 408 || error.status >= 500);
  }
  return !write && error instanceof BrokerTransportError;
}

/** Injection points of RetryingBroker (time and randomness, for deterministic tests and simulated runs). */
export interface RetryingBrokerOptions {
  /** Waits between attempts (default: real timers). Tests pass a recorder. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform [0, 1) source for the jitter (default Math.random). */
  random?: () => number;
  /** Called before each retry. */
  onRetry?: (method: string, attempt: number, error: unknown) => void;
}

/**
 * A BrokerPort wrapping another with the policy of the module doc. Every method answers like the
 * inner broker's; after MAX_ATTEMPTS failed tries (or at once for a non-retryable failure) it
 * throws the inner broker's last error unchanged (BrokerError, BrokerTransportError).
 */
export class RetryingBroker implements BrokerPort {
  constructor(
    private readonly inner: BrokerPort,
    private readonly options: RetryingBrokerOptions = {},
  ) {}

  getAccount(): Promise<BrokerAccount> {
    return this.call('getAccount', false, () => this.inner.getAccount());
  }
  listPositions(): Promise<BrokerPosition[]> {
    return this.call('listPositions', false, () => this.inner.listPositions());
  }
  listOrders(filter: { status: 'open' | 'closed' | 'all' }): Promise<BrokerOrder[]> {
    return this.call('listOrders', false, () => this.inner.listOrders(filter));
  }
  getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | undefined> {
    return this.call('getOrderByClientOrderId', false, () => this.inner.getOrderByClientOrderId(clientOrderId));
  }
  getOrder(brokerOrderId: string): Promise<BrokerOrder> {
    return this.call('getOrder', false, () => this.inner.getOrder(brokerOrderId));
  }
  listExecutions(filter: { after?: string }): Promise<BrokerExecution[]> {
    return this.call('listExecutions', false, () => this.inner.listExecutions(filter));
  }
  submitOrder(request: SubmitOrderRequest): Promise<BrokerOrder> {
    return this.call('submitOrder', true, () => this.inner.submitOrder(request));
  }
  cancelOrder(brokerOrderId: string): Promise<void> {
    return this.call('cancelOrder', true, () => this.inner.cancelOrder(brokerOrderId));
  }

  private call<T>(method: string, write: boolean, fn: () => Promise<T>): Promise<T> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const random = this.options.random ?? Math.random;
    let attempt = 0;
    return pRetry(
      async () => {
        attempt += 1;
        try {
          return await fn();
        } catch (error) {
          // p-retry only retries Error instances it is allowed to: everything else aborts at once.
          if (!isRetryable(error, write) || attempt >= MAX_ATTEMPTS) throw new AbortError(error as Error);
          this.options.onRetry?.(method, attempt, error);
          await sleep(Math.floor(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1))));
          throw error;
        }
      },
      // The backoff is slept above (injectable, jittered); p-retry itself waits 0.
      { retries: MAX_ATTEMPTS - 1, minTimeout: 0, maxTimeout: 0, factor: 1, randomize: false },
    );
  }
}
