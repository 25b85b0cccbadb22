/**
 * Contract tests of the Alpaca market-data bars adapter against the recorded bar pages
 * (test/fixtures/contracts/alpaca/bars-*.json, served unchanged from a fake fetch): single, newest
 * first, multi-symbol and empty shapes, pagination, New York session dates, retries on 429/5xx, and
 * the incremental cache protocol.
 */
import { describe, expect, it } from 'vitest';
import { validateBarRows } from '../../../../lambdas/core/bars';
import {
  AlpacaBarsMarketData,
  parseAlpacaBarsPage,
  sessionDateOf,
  type AlpacaBarsMarketDataOptions,
} from '../../../../lambdas/adapters/market-data/alpaca-bars';
import { MemoryBarCache } from '../../../../lambdas/adapters/market-data/cache';
import type { MarketDataWarning } from '../../../../lambdas/adapters/market-data/http';
import { MarketDataError } from '../../../../lambdas/ports';
import { credentials, fakeFetch, fixture, fixtureJson, recordingSleep, respond, sequence } from './helpers';

const BASE = 'http://127.0.0.1:9';
const KEYS = { APCA_API_KEY_ID: 'PKTESTKEY', APCA_API_SECRET_KEY: 'test-secret' };
const page = (name: string) => () => respond(fixture('alpaca', name));
const NOW = new Date('2022-03-10T15:00:00Z'); // 10:00 in New York, session of 2022-03-10 open

function adapter(fetchImpl: typeof fetch, extra: Partial<AlpacaBarsMarketDataOptions> = {}) {
  const { sleep, delays } = recordingSleep();
  const warnings: MarketDataWarning[] = [];
  const data = new AlpacaBarsMarketData({
    credentials: credentials(KEYS),
    baseUrl: BASE,
    symbols: ['AAPL', 'TSLA', 'SPY'],
    fetch: fetchImpl,
    sleep,
    random: () => 0.5,
    now: () => NOW,
    historyStart: '2022-01-01',
    onWarning: (w) => warnings.push(w),
    ...extra,
  });
  return { data, delays, warnings };
}

describe('GET /v2/stocks/{symbol}/bars', () => {
  it('follows next_page_token across two pages (bars-single.json, then bars-multi.json) and sends the token of page 1', async () => {
    const { fetch, requests } = sequence(page('bars-single.json'), page('bars-multi.json'));
    const rows = await adapter(fetch).data.loadDailyRows('AAPL');
    expect(rows).toEqual([
      { line: 1, date: '2022-02-01', open: '174', high: '174.84', low: '172.31', close: '174.61', volume: '85998033' },
      { line: 2, date: '2022-02-02', open: '174.64', high: '175.88', low: '173.33', close: '175.84', volume: '84817432' },
      { line: 3, date: '2022-03-09', open: '161.51', high: '163.41', low: '159.41', close: '162.95', volume: '88496480' },
    ]);
    expect(validateBarRows(rows).defects).toEqual([]);
    expect(requests).toHaveLength(2);
    const [first, second] = requests as [(typeof requests)[0], (typeof requests)[0]];
    expect(`${first.url.origin}${first.url.pathname}`).toBe('http://127.0.0.1:9/v2/stocks/AAPL/bars');
    expect(Object.fromEntries(first.url.searchParams)).toEqual({
      timeframe: '1Day',
      adjustment: 'all',
      start: '2022-01-01',
      end: '2022-03-10T14:44:00Z', // 16 minutes before now
      limit: '10000',
    });
    expect(first.headers['apca-api-key-id']).toBe('PKTESTKEY');
    expect(first.headers['apca-api-secret-key']).toBe('test-secret');
    expect(second.url.searchParams.get('page_token')).toBe('QUFQTHxEfDIwMjItMDItMDJUMDU6MDA6MDAuMDAwMDAwMDAwWg==');
    expect(second.url.searchParams.get('start')).toBe('2022-01-01');
  });

  it('stops at a page whose next_page_token is null ("bars": null = no bars: bars-single-empty.json)', async () => {
    const { fetch, requests } = sequence(page('bars-single.json'), page('bars-single-empty.json'));
    expect((await adapter(fetch).data.loadDailyRows('AAPL')).map((r) => r.date)).toEqual(['2022-02-01', '2022-02-02']);
    expect(requests).toHaveLength(2);
    const empty = sequence(page('bars-single-empty.json'));
    expect(await adapter(empty.fetch).data.loadDailyRows('AAPL')).toEqual([]);
    expect(empty.requests).toHaveLength(1);
  });

  it('re-sorts a newest-first page (bars-single-desc.json) ascending; t at 04:00Z is the New York date', async () => {
    const { fetch } = sequence(page('bars-single-desc.json'), page('bars-multi-empty.json'));
    const rows = await adapter(fetch, { now: () => new Date('2023-09-28T15:00:00Z'), historyStart: '2023-09-01' }).data.loadDailyRows('TSLA');
    expect(rows.map((r) => [r.line, r.date, r.open, r.close, r.volume])).toEqual([
      [1, '2023-09-25', '243.38', '246.99', '104668716'],
      [2, '2023-09-26', '242.98', '244.12', '102033779'],
      [3, '2023-09-27', '244.262', '240.5', '136616287'],
    ]);
  });

  it('reads the multi-symbol shapes: the requested symbol\'s entry (bars-multi.json), none in {} (bars-multi-empty.json)', () => {
    expect(parseAlpacaBarsPage('TSLA', 'test', fixtureJson('alpaca', 'bars-multi.json'))).toEqual({
      rows: [{ date: '2022-03-09', open: '839', high: '860.56', low: '832.01', close: '858.97', volume: '19227323' }],
      nextPageToken: null,
    });
    expect(parseAlpacaBarsPage('MSFT', 'test', fixtureJson('alpaca', 'bars-multi.json')).rows).toEqual([]);
    expect(parseAlpacaBarsPage('AAPL', 'test', fixtureJson('alpaca', 'bars-multi-empty.json'))).toEqual({ rows: [], nextPageToken: null });
  });

  it('refuses a page for another symbol, and an answer that is not a bars page (naming the path)', async () => {
    await expect(adapter(sequence(page('bars-single-desc.json')).fetch).data.loadDailyRows('AAPL')).rejects.toThrow(
      'the answer is for "TSLA", not AAPL',
    );
    const error = await adapter(sequence(() => respond('{"message":"ok"}')).fetch).data.loadDailyRows('AAPL').catch((e: Error) => e);
    expect(error).toBeInstanceOf(MarketDataError);
    expect((error as Error).message).toContain('unexpected answer: bars=missing');
  });

  it('keeps a bar\'s missing or odd fields as text for the validator', () => {
    const body = { bars: [{ t: '2022-02-01T05:00:00Z', o: 174, h: 174.84, l: 172.31, v: 1e-7 }, { t: 'yesterday', o: 1, h: 1, l: 1, c: 1, v: 1 }], next_page_token: null };
    const { rows } = parseAlpacaBarsPage('AAPL', 'test', body);
    expect(rows).toEqual([
      { date: '2022-02-01', open: '174', high: '174.84', low: '172.31', close: '', volume: '0.0000001' },
      { date: 'yesterday', open: '1', high: '1', low: '1', close: '1', volume: '1' },
    ]);
    expect(validateBarRows(rows.map((r, i) => ({ ...r, line: i + 1 }))).defects.map((d) => `${d.rule} ${d.field} ${d.value}`)).toEqual([
      'MISSING_FIELD close ',
      'BAD_DATE date yesterday',
    ]);
  });

  it('converts bar times to the NYSE session date in America/New_York', () => {
    expect(sessionDateOf('2022-02-01T05:00:00Z')).toBe('2022-02-01'); // EST midnight
    expect(sessionDateOf('2023-09-27T04:00:00Z')).toBe('2023-09-27'); // EDT midnight
    expect(sessionDateOf('2022-03-09T00:00:00Z')).toBe('2022-03-08'); // UTC midnight is the evening before in New York
    expect(sessionDateOf('2022-03-09T05:00:00+00:00')).toBe('2022-03-09');
    expect(sessionDateOf('2022-03-09T05:00:00')).toBe('2022-03-09T05:00:00'); // no offset: passed through
    expect(sessionDateOf(undefined)).toBe('');
  });
});

describe('retries and refusals', () => {
  it('429 with Retry-After, then success: waits what Alpaca asked (within the 20 s cap)', async () => {
    const { fetch, requests } = sequence(() => respond('{"message":"too many requests."}', 429, { 'Retry-After': '3' }), page('bars-single-empty.json'));
    const { data, delays, warnings } = adapter(fetch);
    expect(await data.loadDailyRows('AAPL')).toEqual([]);
    expect(requests).toHaveLength(2);
    expect(delays).toEqual([3000]);
    expect(warnings[0]).toMatchObject({ code: 'RETRY', symbol: 'AAPL', attempt: 1, delayMs: 3000 });
  });

  it('429 on every attempt for one symbol opens the breaker: the next symbol fails fast, with no request', async () => {
    const { fetch, requests } = sequence(() => respond('{"message":"too many requests."}', 429));
    const { data, warnings } = adapter(fetch);
    await expect(data.loadDailyRows('AAPL')).rejects.toThrow('no usable answer after 8 attempts');
    expect(requests).toHaveLength(8);
    await expect(data.loadDailyRows('TSLA')).rejects.toThrow(/not sent: the API gave no usable answer to an earlier request \(AAPL: HTTP 429/);
    expect(requests).toHaveLength(8);
    expect(warnings.at(-1)?.code).toBe('SKIPPED');
  });

  it('a 5xx outage that outlasts every attempt opens the breaker too', async () => {
    const { fetch, requests } = sequence(() => respond('oops', 503));
    const { data } = adapter(fetch);
    await expect(data.loadDailyRows('AAPL')).rejects.toThrow('no usable answer after 8 attempts');
    await expect(data.loadDailyRows('TSLA')).rejects.toThrow(/not sent: the API gave no usable answer to an earlier request \(AAPL: HTTP 503/);
    expect(requests).toHaveLength(8);
  });

  it('429 without a wait header and 5xx back off exponentially, then succeed', async () => {
    const { fetch } = sequence(() => respond('', 429), () => respond('oops', 500), () => respond('', 502), page('bars-single-empty.json'));
    const { data, delays } = adapter(fetch, { random: () => 0 });
    expect(await data.loadDailyRows('AAPL')).toEqual([]);
    expect(delays).toEqual([125, 250, 500]);
  });

  it('gives up after 8 attempts of 503 with a MarketDataError naming the symbol', async () => {
    const { fetch, requests } = sequence(() => respond('unavailable', 503));
    const { data, delays, warnings } = adapter(fetch);
    await expect(data.loadDailyRows('AAPL')).rejects.toThrow(
      'GET /v2/stocks/AAPL/bars (start=2022-01-01): no usable answer after 8 attempts (last: HTTP 503 "unavailable")',
    );
    expect(requests).toHaveLength(8);
    expect(delays).toHaveLength(7);
    expect(warnings.at(-1)!.code).toBe('GAVE_UP');
  });

  it('401/403/422 are not retried; their message is quoted', async () => {
    const { fetch, requests } = sequence(() => respond('{"message":"forbidden."}', 403));
    await expect(adapter(fetch).data.loadDailyRows('AAPL')).rejects.toThrow('GET /v2/stocks/AAPL/bars (start=2022-01-01): HTTP 403 "{\\"message\\":\\"forbidden.\\"}"');
    expect(requests).toHaveLength(1);
  });

  it('missing keys fail before any request, naming the variable (never a value)', async () => {
    const { fetch, requests } = sequence(page('bars-single-empty.json'));
    const { data } = adapter(fetch, { credentials: credentials({ APCA_API_KEY_ID: 'PKTESTKEY' }) });
    await expect(data.loadDailyRows('AAPL')).rejects.toThrow('Alpaca credentials missing: APCA_API_SECRET_KEY not set');
    expect(requests).toHaveLength(0);
  });

  it('a page token sent twice is an error, not an endless loop', async () => {
    const { fetch, requests } = sequence(page('bars-single.json'));
    await expect(adapter(fetch).data.loadDailyRows('AAPL')).rejects.toThrow('sent the page token');
    expect(requests).toHaveLength(2);
  });
});

describe('incremental loads through the cache', () => {
  it('after the full load, asks only from the last cached date and merges', async () => {
    const cache = new MemoryBarCache();
    const answers = [page('bars-single.json'), page('bars-multi.json'), page('bars-multi.json')];
    const { fetch, requests } = fakeFetch((_url, i) => answers[i]!());
    const { data, warnings } = adapter(fetch, { cache, reuseForMs: 0 });
    await data.loadDailyRows('AAPL');
    expect((await cache.get('alpaca', 'AAPL'))!).toMatchObject({ lastLoad: 'full', fetchedAt: NOW.toISOString() });
    const rows = await data.loadDailyRows('AAPL');
    expect(requests.map((r) => r.url.searchParams.get('start'))).toEqual(['2022-01-01', '2022-01-01', '2022-03-09']);
    expect(rows.map((r) => r.date)).toEqual(['2022-02-01', '2022-02-02', '2022-03-09']);
    expect((await cache.get('alpaca', 'AAPL'))!.lastLoad).toBe('incremental');
    expect(warnings).toEqual([]);
  });

  it('when the overlapping bar changed (re-adjusted history), discards the cache and reloads from historyStart', async () => {
    const cache = new MemoryBarCache();
    const readjusted = fixtureJson('alpaca', 'bars-multi.json');
    readjusted.bars.AAPL[0].c = 81.475; // e.g. after a 2:1 split
    const answers = [page('bars-single.json'), page('bars-multi.json'), () => respond(JSON.stringify(readjusted)), page('bars-single.json'), page('bars-multi.json')];
    const { fetch, requests } = fakeFetch((_url, i) => answers[i]!());
    const { data, warnings } = adapter(fetch, { cache, reuseForMs: 0 });
    await data.loadDailyRows('AAPL');
    await data.loadDailyRows('AAPL');
    expect(requests.map((r) => r.url.searchParams.get('start'))).toEqual(['2022-01-01', '2022-01-01', '2022-03-09', '2022-01-01', '2022-01-01']);
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_RESET']);
    expect(warnings[0]!.message).toContain('the cached close of 2022-03-09 was "162.95", the API now says "81.475"');
    expect((await cache.get('alpaca', 'AAPL'))!.lastLoad).toBe('full');
  });
});
