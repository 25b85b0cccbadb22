/**
 * Test helpers for the market-data API adapters: the recorded contract payloads (copies under
 * test/fixtures/contracts, never ../shared), a fake fetch that records every request, and timers and
 * randomness that make the retry schedule instant and checkable. Nothing here touches the network.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ApiCredentials, SecretsPort } from '../../../../lambdas/ports';

const CONTRACTS = resolve(import.meta.dirname, '../../../fixtures/contracts');

/** The exact text of a recorded payload. */
export function fixture(folder: 'alphavantage' | 'alpaca', name: string): string {
  return readFileSync(join(CONTRACTS, folder, name), 'utf8');
}

/** A recorded payload, parsed (for tests that derive a variant from it). */
export function fixtureJson<T = any>(folder: 'alphavantage' | 'alpaca', name: string): T {
  return JSON.parse(fixture(folder, name)) as T;
}

/** A JSON response with the given body text. */
export function respond(text: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** One request the fake fetch received. */
export interface RecordedRequest {
  url: URL;
  headers: Record<string, string>;
}

/**
 * A fetch that answers from `answer` (called with the request URL and its 0-based index) and
 * records every request. `answer` may return an Error to simulate a network failure.
 */
export function fakeFetch(answer: (url: URL, index: number) => Response | Error | Promise<Response | Error>) {
  const requests: RecordedRequest[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    requests.push({ url, headers });
    const result = await answer(url, requests.length - 1);
    if (result instanceof Error) throw result;
    return result;
  }) as typeof fetch;
  return { fetch: fetchImpl, requests };
}

/** A fetch answering the given responses in order (the last one repeats). */
export function sequence(...answers: Array<() => Response | Error>) {
  return fakeFetch((_url, index) => answers[Math.min(index, answers.length - 1)]!());
}

/** A sleep that returns at once and records each wait, ms. */
export function recordingSleep() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

/** Randomness from a fixed list (cycled), so each jittered delay is known in advance. */
export function fixedRandom(values: readonly number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** A SecretsPort answering the given credentials. */
export function credentials(values: ApiCredentials): SecretsPort {
  return { getCredentials: async () => ({ ...values }) };
}
