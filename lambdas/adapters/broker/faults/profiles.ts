/**
 * Fault profiles for the fault-injecting broker: which faults it injects and how often.
 *
 * | kind                   | applies to                          | none | flaky | hostile | models |
 * |------------------------|-------------------------------------|------|-------|---------|--------|
 * | `latency`              | every call                          | 0    | 0.10  | 0.30    | a slow API / network (1–5 ms flaky, 1–10 ms hostile) |
 * | `rate_limited`         | every call (starts a 429 burst)     | 0    | 0.02  | 0.06    | Alpaca's 200 req/min limit: 429 for the next 1–2 (flaky) / 1–4 (hostile) calls |
 * | `server_error`         | every call, before the broker       | 0    | 0.02  | 0.05    | 500/502/503 from the API or its load balancer, nothing done |
 * | `server_error`         | submitOrder, after the broker       | 0    | 0.01  | 0.04    | a 5xx sent after the order was created (gateway error on the way back) |
 * | `timeout_after_accept` | submitOrder, after the broker       | 0    | 0.02  | 0.06    | the client times out while the broker creates the order |
 * | `dropped_response`     | every call, after the broker        | 0    | 0.02  | 0.05    | connection reset after the request was served: the response is lost |
 * | `replayed_fill`        | listExecutions                      | 0    | 0.05  | 0.25    | a fill event delivered again (at-least-once activity/stream delivery) |
 * | `fill_during_cancel`   | cancelOrder of an open unfilled limit | 0  | 0.05  | 0.25    | the order fills while the cancel is in flight; the cancel gets 422 |
 * | `held_leg`             | each working stop leg of a filled OTO parent | 0 | 0.10 | 0.50 | Alpaca showing a live bracket/OTO stop leg as `held` |
 * | `phantom_cancel`       | each filled order                   | 0    | 0.02  | 0.15    | a filled order reported `canceled` with its fills (a cancel that raced the fill) |
 *
 * Per-call rates are checked once per call, in the order of the table; the per-order rates
 * (`held_leg`, `phantom_cancel`) pick orders by a hash of the seed and the order id, so an order
 * picked once is picked on every read. `none` injects nothing and draws nothing that matters: the
 * broker is a pure pass-through.
 */

/** The profiles, mildest first. */
export const FAULT_PROFILES = ['none', 'flaky', 'hostile'] as const;

/** A fault profile's name. */
export type FaultProfile = (typeof FAULT_PROFILES)[number];

/** Every kind of fault the fault-injecting broker can inject (see the module doc for what each models). */
export const FAULT_KINDS = [
  'latency',
  'timeout_after_accept',
  'dropped_response',
  'rate_limited',
  'server_error',
  'replayed_fill',
  'fill_during_cancel',
  'held_leg',
  'phantom_cancel',
] as const;

/** One kind of injected fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The probabilities of one profile. Every rate is in [0, 1]. */
export interface FaultRates {
  /** Per call: the call is delayed by 1..`latencyMaxMs` ms. */
  latency: number;
  /** Upper bound of an injected delay, ms. */
  latencyMaxMs: number;
  /** Per call (outside a burst): a 429 burst starts with this call. */
  rateLimited: number;
  /** A burst refuses 1..`rateLimitBurstMax` consecutive calls. */
  rateLimitBurstMax: number;
  /** Per call: a 5xx before the request reaches the broker. */
  serverErrorBefore: number;
  /** Per submitOrder that the broker accepted: a 5xx after the order was created. */
  serverErrorAfterSubmit: number;
  /** Per submitOrder that the broker accepted: a timeout after the order was created. */
  timeoutAfterAccept: number;
  /** Per call the broker served: the response is lost (network error). */
  droppedResponse: number;
  /** Per listExecutions: 1..3 executions already delivered are delivered again. */
  replayedFill: number;
  /** Per cancelOrder of an open, unfilled limit order: it fills at its limit before the cancel lands. */
  fillDuringCancel: number;
  /** Per working stop leg of a filled OTO parent: reported as `held` while it works. */
  heldLeg: number;
  /** Per filled order: reported as `canceled` (fills kept). */
  phantomCancel: number;
}

/** The probability table (documented in the module doc). */
export const FAULT_RATES: Readonly<Record<FaultProfile, Readonly<FaultRates>>> = Object.freeze({
  none: Object.freeze({
    latency: 0,
    latencyMaxMs: 0,
    rateLimited: 0,
    rateLimitBurstMax: 0,
    serverErrorBefore: 0,
    serverErrorAfterSubmit: 0,
    timeoutAfterAccept: 0,
    droppedResponse: 0,
    replayedFill: 0,
    fillDuringCancel: 0,
    heldLeg: 0,
    phantomCancel: 0,
  }),
  flaky: Object.freeze({
    latency: 0.1,
    latencyMaxMs: 5,
    rateLimited: 0.02,
    rateLimitBurstMax: 2,
    serverErrorBefore: 0.02,
    serverErrorAfterSubmit: 0.01,
    timeoutAfterAccept: 0.02,
    droppedResponse: 0.02,
    replayedFill: 0.05,
    fillDuringCancel: 0.05,
    heldLeg: 0.1,
    phantomCancel: 0.02,
  }),
  hostile: Object.freeze({
    latency: 0.3,
    latencyMaxMs: 10,
    rateLimited: 0.06,
    rateLimitBurstMax: 4,
    serverErrorBefore: 0.05,
    serverErrorAfterSubmit: 0.04,
    timeoutAfterAccept: 0.06,
    droppedResponse: 0.05,
    replayedFill: 0.25,
    fillDuringCancel: 0.25,
    heldLeg: 0.5,
    phantomCancel: 0.15,
  }),
});

/** True when `value` names a fault profile (e.g. to validate a CLI flag). */
export function isFaultProfile(value: unknown): value is FaultProfile {
  return typeof value === 'string' && (FAULT_PROFILES as readonly string[]).includes(value);
}
