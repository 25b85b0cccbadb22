/**
 * Alpaca endpoint and credential rules, as pure functions.
 *
 * Endpoints (Alpaca Trading API v2, "servers" of the official OpenAPI spec):
 * - paper trading: `https://paper-api.alpaca.markets` (simulated money, the default here);
 * - live trading:  `https://api.alpaca.markets` (real money).
 *
 * A user must never trade real money by accident, so the live endpoint is used only when the
 * configuration says so explicitly (`live: true`, from `ALPACA_LIVE=true`), and any base URL that
 * could reach the live venue without that flag is refused.
 */
import type { ApiCredentials } from '../../../ports';

/** Alpaca's paper-trading REST endpoint (default). */
export const ALPACA_PAPER_BASE_URL = 'https://paper-api.alpaca.markets';
/** Alpaca's live-trading REST endpoint: real money. */
export const ALPACA_LIVE_BASE_URL = 'https://api.alpaca.markets';

const PAPER_HOST = 'paper-api.alpaca.markets';
const LIVE_HOST = 'api.alpaca.markets';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Which venue a resolved base URL reaches: Alpaca paper, Alpaca live, or a server on this machine (tests). */
export type AlpacaEndpointMode = 'paper' | 'live' | 'local';

/** A base URL the adapter may use, and what it reaches. */
export interface AlpacaEndpoint {
  /** Origin without a trailing slash or `/v2`, e.g. `https://paper-api.alpaca.markets`. */
  baseUrl: string;
  mode: AlpacaEndpointMode;
}

/**
 * Decides the base URL the adapter talks to, refusing anything that could trade real money
 * without an explicit `live: true`.
 *
 * | baseUrl host                        | live unset/false | live: true |
 * |-------------------------------------|------------------|------------|
 * | (none)                              | paper endpoint   | live endpoint |
 * | paper-api.alpaca.markets            | paper            | refused (contradiction) |
 * | api.alpaca.markets                  | **refused**      | live |
 * | 127.0.0.1 / localhost / [::1]       | local (http ok)  | refused (contradiction) |
 * | any other host (proxy, typo, …)     | **refused**      | live (treated as real money) |
 *
 * Non-loopback URLs must be https. A trailing `/` or `/v2` is dropped (the adapter adds `/v2/...`).
 * Pure: reads no environment.
 * @param config.baseUrl value of `APCA_API_BASE_URL` (undefined or '' = default).
 * @param config.live true only when the operator explicitly asked for live trading (`ALPACA_LIVE=true`).
 * @throws Error naming the URL and the flag when the combination is refused or the URL is invalid.
 */
export function resolveAlpacaEndpoint(config: { baseUrl?: string | undefined; live?: boolean | undefined }): AlpacaEndpoint {
  const live = config.live === true;
  const raw = config.baseUrl?.trim() ?? '';
  if (raw === '') return live ? { baseUrl: ALPACA_LIVE_BASE_URL, mode: 'live' } : { baseUrl: ALPACA_PAPER_BASE_URL, mode: 'paper' };

  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`APCA_API_BASE_URL must be an absolute URL such as ${ALPACA_PAPER_BASE_URL}, got ${JSON.stringify(raw)}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new Error(`APCA_API_BASE_URL must be a plain origin (no credentials, query or fragment), got ${JSON.stringify(raw)}`);
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v2$/, '');
  if (path !== '') throw new Error(`APCA_API_BASE_URL must not have a path other than /v2, got ${JSON.stringify(raw)}`);
  const host = url.hostname.toLowerCase();
  const loopback = LOOPBACK_HOSTS.has(host);
  if (url.protocol !== 'https:' && !(loopback && url.protocol === 'http:')) {
    throw new Error(`APCA_API_BASE_URL must use https (http only on 127.0.0.1/localhost), got ${JSON.stringify(raw)}`);
  }
  const baseUrl = url.origin;

  if (host === PAPER_HOST) {
    if (live) throw new Error(`ALPACA_LIVE=true but APCA_API_BASE_URL is the paper endpoint ${baseUrl}; unset ALPACA_LIVE for paper trading or use ${ALPACA_LIVE_BASE_URL}`);
    return { baseUrl, mode: 'paper' };
  }
  if (loopback) {
    if (live) throw new Error(`ALPACA_LIVE=true but APCA_API_BASE_URL is a local server ${baseUrl}; unset ALPACA_LIVE`);
    return { baseUrl, mode: 'local' };
  }
  if (!live) {
    const what = host === LIVE_HOST ? 'the LIVE (real money) endpoint' : 'not the paper endpoint and may reach live trading';
    throw new Error(
      `refusing APCA_API_BASE_URL=${baseUrl}: it is ${what}, and ALPACA_LIVE is not "true". ` +
        `Set ALPACA_LIVE=true only if you mean to trade real money; otherwise use ${ALPACA_PAPER_BASE_URL}`,
    );
  }
  return { baseUrl, mode: 'live' };
}

/**
 * Reads the `ALPACA_LIVE` flag: `'true'` → true; unset, `''` or `'false'` → false.
 * Anything else (`'1'`, `'yes'`, `'TRUE'`) is refused rather than guessed.
 * @throws Error `ALPACA_LIVE must be "true" or "false", got "yes"`.
 */
export function parseAlpacaLiveFlag(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`ALPACA_LIVE must be "true" (live trading, real money) or "false"/unset (paper), got ${JSON.stringify(value)}`);
}

/** Alpaca API key pair, sent as the `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers. */
export interface AlpacaKeys {
  keyId: string;
  secretKey: string;
}

/**
 * The Alpaca key pair from a credentials object (Secrets Manager JSON in AWS, env vars locally).
 * @throws Error naming every missing variable, e.g. `Alpaca credentials missing: APCA_API_SECRET_KEY`
 *   (the message never contains a secret value).
 */
export function alpacaKeysFrom(credentials: ApiCredentials, source = 'the credentials source'): AlpacaKeys {
  const missing: string[] = [];
  if (!credentials.APCA_API_KEY_ID) missing.push('APCA_API_KEY_ID');
  if (!credentials.APCA_API_SECRET_KEY) missing.push('APCA_API_SECRET_KEY');
  if (missing.length > 0) throw new Error(`Alpaca credentials missing: ${missing.join(', ')} not set in ${source}`);
  return { keyId: credentials.APCA_API_KEY_ID!, secretKey: credentials.APCA_API_SECRET_KEY! };
}
