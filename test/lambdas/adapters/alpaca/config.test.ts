import { describe, expect, it } from 'vitest';
import { AlpacaBroker } from '../../../../lambdas/adapters/broker/alpaca/alpaca-broker';
import {
  ALPACA_LIVE_BASE_URL,
  ALPACA_PAPER_BASE_URL,
  alpacaKeysFrom,
  parseAlpacaLiveFlag,
  resolveAlpacaEndpoint,
} from '../../../../lambdas/adapters/broker/alpaca/config';
import { json, keys, scriptedFetch } from './helpers';

describe('resolveAlpacaEndpoint: real money only when explicitly live', () => {
  it('defaults to the paper endpoint', () => {
    expect(resolveAlpacaEndpoint({})).toEqual({ baseUrl: ALPACA_PAPER_BASE_URL, mode: 'paper' });
    expect(resolveAlpacaEndpoint({ baseUrl: '' })).toEqual({ baseUrl: 'https://paper-api.alpaca.markets', mode: 'paper' });
    expect(resolveAlpacaEndpoint({ baseUrl: 'https://paper-api.alpaca.markets/', live: false }).mode).toBe('paper');
  });

  it('accepts the paper URL with a trailing /v2 and drops it', () => {
    expect(resolveAlpacaEndpoint({ baseUrl: 'https://paper-api.alpaca.markets/v2' }).baseUrl).toBe('https://paper-api.alpaca.markets');
  });

  it('REFUSES the live endpoint unless live is set', () => {
    expect(() => resolveAlpacaEndpoint({ baseUrl: 'https://api.alpaca.markets' })).toThrow(
      /refusing APCA_API_BASE_URL=https:\/\/api\.alpaca\.markets: it is the LIVE \(real money\) endpoint, and ALPACA_LIVE is not "true"/,
    );
    expect(() => resolveAlpacaEndpoint({ baseUrl: 'https://API.alpaca.markets/v2/', live: false })).toThrow(/LIVE \(real money\)/);
  });

  it('uses the live endpoint only with live: true', () => {
    expect(resolveAlpacaEndpoint({ baseUrl: 'https://api.alpaca.markets', live: true })).toEqual({ baseUrl: ALPACA_LIVE_BASE_URL, mode: 'live' });
    expect(resolveAlpacaEndpoint({ live: true })).toEqual({ baseUrl: 'https://api.alpaca.markets', mode: 'live' });
  });

  it('refuses an unknown host without live (a proxy could reach live trading)', () => {
    expect(() => resolveAlpacaEndpoint({ baseUrl: 'https://alpaca-proxy.example.com' })).toThrow(/not the paper endpoint and may reach live trading/);
    expect(resolveAlpacaEndpoint({ baseUrl: 'https://alpaca-proxy.example.com', live: true }).mode).toBe('live');
  });

  it('refuses contradictions: live with the paper or a local URL', () => {
    expect(() => resolveAlpacaEndpoint({ baseUrl: ALPACA_PAPER_BASE_URL, live: true })).toThrow(/ALPACA_LIVE=true but APCA_API_BASE_URL is the paper endpoint/);
    expect(() => resolveAlpacaEndpoint({ baseUrl: 'http://127.0.0.1:8080', live: true })).toThrow(/local server/);
  });

  it('allows plain http only on loopback (test servers)', () => {
    expect(resolveAlpacaEndpoint({ baseUrl: 'http://127.0.0.1:4010' })).toEqual({ baseUrl: 'http://127.0.0.1:4010', mode: 'local' });
    expect(resolveAlpacaEndpoint({ baseUrl: 'http://localhost:4010' }).mode).toBe('local');
    expect(() => resolveAlpacaEndpoint({ baseUrl: 'http://paper-api.alpaca.markets' })).toThrow(/must use https/);
  });

  it('refuses malformed URLs, paths, queries and embedded credentials', () => {
    expect(() => resolveAlpacaEndpoint({ baseUrl: 'paper-api.alpaca.markets' })).toThrow(/must be an absolute URL/);
    expect(() => resolveAlpacaEndpoint({ baseUrl: 'https://paper-api.alpaca.markets/v1' })).toThrow(/must not have a path/);
    expect(() => resolveAlpacaEndpoint({ baseUrl: 'https://paper-api.alpaca.markets?x=1' })).toThrow(/plain origin/);
    expect(() => resolveAlpacaEndpoint({ baseUrl: 'https://key:secret@paper-api.alpaca.markets' })).toThrow(/plain origin/);
  });

  it('the broker refuses to be built on the live URL without live: true, before any request', () => {
    const { fetch, calls } = scriptedFetch(() => json(200, {}));
    expect(() => new AlpacaBroker({ baseUrl: 'https://api.alpaca.markets', credentials: keys(), fetch })).toThrow(/LIVE \(real money\)/);
    expect(calls).toHaveLength(0);
    expect(new AlpacaBroker({ credentials: keys(), fetch }).endpoint).toEqual({ baseUrl: ALPACA_PAPER_BASE_URL, mode: 'paper' });
  });
});

describe('parseAlpacaLiveFlag', () => {
  it('is true only for the exact string "true"', () => {
    expect(parseAlpacaLiveFlag('true')).toBe(true);
    expect(parseAlpacaLiveFlag(undefined)).toBe(false);
    expect(parseAlpacaLiveFlag('')).toBe(false);
    expect(parseAlpacaLiveFlag('false')).toBe(false);
  });

  it('refuses anything ambiguous instead of guessing', () => {
    for (const value of ['1', 'yes', 'TRUE', 'True', ' true']) {
      expect(() => parseAlpacaLiveFlag(value)).toThrow(`ALPACA_LIVE must be "true" (live trading, real money) or "false"/unset (paper), got ${JSON.stringify(value)}`);
    }
  });
});

describe('alpacaKeysFrom', () => {
  it('returns the key pair', () => {
    expect(alpacaKeysFrom({ APCA_API_KEY_ID: 'id', APCA_API_SECRET_KEY: 'sk' })).toEqual({ keyId: 'id', secretKey: 'sk' });
  });

  it('names every missing variable and never the secret', () => {
    expect(() => alpacaKeysFrom({ APCA_API_KEY_ID: 'AKVISIBLE' })).toThrow('Alpaca credentials missing: APCA_API_SECRET_KEY not set in the credentials source');
    expect(() => alpacaKeysFrom({ APCA_API_SECRET_KEY: 'do-not-print' })).toThrow(/^Alpaca credentials missing: APCA_API_KEY_ID not set/);
    expect(() => alpacaKeysFrom({})).toThrow('APCA_API_KEY_ID, APCA_API_SECRET_KEY');
    try {
      alpacaKeysFrom({ APCA_API_SECRET_KEY: 'do-not-print' });
    } catch (error) {
      expect((error as Error).message).not.toContain('do-not-print');
    }
  });
});
