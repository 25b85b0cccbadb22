/**
 * Contract tests of the Alpha Vantage adapter against recorded payloads (test/fixtures/contracts/
 * alphavantage, served from a fake fetch): daily and adjusted series, the deliberately corrupt
 * payload, throttle bodies with retries and their delay schedule, refusals, news sentiment, company
 * overview, and the incremental cache protocol.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { validateBarRows } from '../../../../lambdas/core/bars';
import {
  AlphaVantageClient,
  AlphaVantageMarketData,
  AlphaVantageNewsItemSchema,
  toNewsItem,
  type AlphaVantageMarketDataOptions,
} from '../../../../lambdas/adapters/market-data/alphavantage';
import { MemoryBarCache } from '../../../../lambdas/adapters/market-data/cache';
import { THROTTLE_BREAKER_OPEN_MS, ThrottleBreaker, type MarketDataWarning } from '../../../../lambdas/adapters/market-data/http';
import { MarketDataError } from '../../../../lambdas/ports';
import { credentials, fakeFetch, fixedRandom, fixture, fixtureJson, recordingSleep, respond, sequence } from './helpers';

const KEY = 'test-av-key';
const BASE = 'http://127.0.0.1:9/av';
const av = (name: string) => () => respond(fixture('alphavantage', name));

/** An adapter over a fake fetch; no real timers, no real randomness unless asked. */
function adapter(fetchImpl: typeof fetch, extra: Partial<AlphaVantageMarketDataOptions> = {}) {
  const { sleep, delays } = recordingSleep();
  const warnings: MarketDataWarning[] = [];
  const data = new AlphaVantageMarketData({
    credentials: credentials({ ALPHAVANTAGE_API_KEY: KEY }),
    baseUrl: BASE,
    symbols: ['MSFT', 'IBM', 'SPY'],
    fetch: fetchImpl,
    sleep,
    random: () => 0.5,
    onWarning: (w) => warnings.push(w),
    now: () => new Date('2020-06-01T14:00:00Z'),
    ...extra,
  });
  return { data, delays, warnings };
}

/** Thrown error of a promise (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('TIME_SERIES_DAILY', () => {
  it('parses crazzyghost-daily.json into raw-text rows ascending by date, line = position', async () => {
    const { fetch, requests } = sequence(av('crazzyghost-daily.json'));
    const rows = await adapter(fetch).data.loadDailyRows('IBM');
    expect(rows).toEqual([
      { line: 1, date: '2020-05-07', open: '122.9800', high: '123.2600', low: '120.8500', close: '121.2300', volume: '4412047' },
      { line: 2, date: '2020-05-08', open: '122.6700', high: '122.8000', low: '121.0600', close: '121.7900', volume: '2538547' },
    ]);
    expect(validateBarRows(rows).defects).toEqual([]);
    expect(requests).toHaveLength(1);
    const url = requests[0]!.url;
    expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:9/av/query');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      function: 'TIME_SERIES_DAILY',
      symbol: 'IBM',
      outputsize: 'full',
      datatype: 'json',
      apikey: KEY,
    });
  });

  it('parses kirlut-daily-not-adjusted.json (three MSFT days, newest first in the payload)', async () => {
    const rows = await adapter(sequence(av('kirlut-daily-not-adjusted.json')).fetch).data.loadDailyRows('MSFT');
    expect(rows.map((r) => [r.line, r.date, r.close, r.volume])).toEqual([
      [1, '2018-05-08', '95.8100', '23484589'],
      [2, '2018-05-09', '96.9400', '27278881'],
      [3, '2018-05-10', '97.4800', '12229563'],
    ]);
    expect(rows[0]).toMatchObject({ open: '95.8456', high: '96.1600', low: '95.0631' });
    expect(validateBarRows(rows).defects).toEqual([]);
  });

  it('refuses a series that names another symbol', async () => {
    const error = await failure(adapter(sequence(av('crazzyghost-daily.json')).fetch).data.loadDailyRows('MSFT'));
    expect(error).toBeInstanceOf(MarketDataError);
    expect(error.message).toContain('the answer is for "IBM", not MSFT');
  });
});

describe('TIME_SERIES_DAILY_ADJUSTED', () => {
  it('asks for the adjusted function and returns adjusted bars (crazzyghost: factor 1, close = adjusted close)', async () => {
    const { fetch, requests } = sequence(av('crazzyghost-dailyadjusted.json'));
    const { data } = adapter(fetch, { adjusted: true });
    const rows = await data.loadDailyRows('IBM');
    expect(requests[0]!.url.searchParams.get('function')).toBe('TIME_SERIES_DAILY_ADJUSTED');
    expect(data.source).toBe('alphavantage-adjusted');
    expect(rows).toEqual([
      { line: 1, date: '2020-05-07', open: '122.98', high: '123.26', low: '120.85', close: '121.23', volume: '4412047' },
      { line: 2, date: '2020-05-08', open: '122.67', high: '122.8', low: '121.06', close: '121.805', volume: '2542577' },
    ]);
    expect(validateBarRows(rows).defects).toEqual([]);
  });

  it('parses kirlut-daily-adjusted.json', async () => {
    const rows = await adapter(sequence(av('kirlut-daily-adjusted.json')).fetch, { adjusted: true }).data.loadDailyRows('MSFT');
    expect(rows.map((r) => [r.date, r.open, r.close, r.volume])).toEqual([
      ['2018-05-08', '95.8456', '95.81', '23484589'],
      ['2018-05-09', '96.01', '96.94', '27278881'],
      ['2018-05-10', '97.46', '97.57', '8798622'],
    ]);
  });

  it('scales OHLC by adjusted close / close and volume by the later split coefficients (kirlut payload with a 2:1 split and a dividend put in)', async () => {
    const payload = fixtureJson('alphavantage', 'kirlut-daily-adjusted.json');
    const days = payload['Time Series (Daily)'];
    // A 2:1 split effective 2018-05-10: the earlier days' adjusted closes halve, their volumes double.
    days['2018-05-10']['8. split coefficient'] = '2.0000';
    days['2018-05-09']['5. adjusted close'] = '48.4700';
    // 2018-05-08 additionally before a dividend: adjusted close a little lower than half.
    days['2018-05-08']['5. adjusted close'] = '47.0000';
    const rows = await adapter(sequence(() => respond(JSON.stringify(payload))).fetch, { adjusted: true }).data.loadDailyRows('MSFT');
    expect(rows).toEqual([
      // factor 47 / 95.81 (95.8456 × 47 / 95.81 = 47.0174638…); volume × 2
      { line: 1, date: '2018-05-08', open: '47.017464', high: '47.171694', low: '46.633605', close: '47', volume: '46969178' },
      // factor 0.5 exactly
      { line: 2, date: '2018-05-09', open: '48.005', high: '48.485', low: '47.525', close: '48.47', volume: '54557762' },
      // the split day itself: unchanged
      { line: 3, date: '2018-05-10', open: '97.46', high: '97.87', low: '97.07', close: '97.57', volume: '8798622' },
    ]);
    expect(validateBarRows(rows).defects).toEqual([]);
  });

  it('refuses an unreadable split coefficient, naming the symbol, date, field and value', async () => {
    const payload = fixtureJson('alphavantage', 'kirlut-daily-adjusted.json');
    payload['Time Series (Daily)']['2018-05-09']['8. split coefficient'] = 'x';
    const error = await failure(adapter(sequence(() => respond(JSON.stringify(payload))).fetch, { adjusted: true }).data.loadDailyRows('MSFT'));
    expect(error).toBeInstanceOf(MarketDataError);
    expect((error as MarketDataError).symbol).toBe('MSFT');
    expect(error.message).toContain('2018-05-09 field "8. split coefficient" is "x", not a positive number');
  });

  it('kirlut-bad-data.json ("open": "r" instead of "1. open"): the row comes back with open \'\' and the validator names date and field', async () => {
    const rows = await adapter(sequence(av('kirlut-bad-data.json')).fetch, { adjusted: true }).data.loadDailyRows('MSFT');
    expect(rows).toEqual([{ line: 1, date: '2018-05-10', open: '', high: '97.87', low: '97.07', close: '97.57', volume: '8798622' }]);
    const { bars, defects } = validateBarRows(rows);
    expect(bars).toEqual([]);
    expect(defects).toEqual([expect.objectContaining({ rule: 'MISSING_FIELD', date: '2018-05-10', field: 'open', value: '', line: 1 })]);
  });

  it('the same corrupt day from TIME_SERIES_DAILY keeps every other field as sent', async () => {
    const rows = await adapter(sequence(av('kirlut-bad-data.json')).fetch).data.loadDailyRows('MSFT');
    // The unadjusted series reads "5. volume", which this adjusted-shaped payload does not have.
    expect(rows).toEqual([{ line: 1, date: '2018-05-10', open: '', high: '97.8700', low: '97.0700', close: '97.5700', volume: '' }]);
    expect(validateBarRows(rows).defects.map((d) => `${d.rule} ${d.field}`)).toEqual(['MISSING_FIELD open', 'MISSING_FIELD volume']);
  });
});

describe('throttling, refusals and retries', () => {
  for (const body of ['error-note-call-frequency.json', 'error-information-daily-rate-limit.json']) {
    it(`${body}: retried, then the data`, async () => {
      const { fetch, requests } = sequence(av(body), av('crazzyghost-daily.json'));
      const { data, delays, warnings } = adapter(fetch, { random: () => 0 });
      const rows = await data.loadDailyRows('IBM');
      expect(rows).toHaveLength(2);
      expect(requests).toHaveLength(2);
      expect(delays).toEqual([125]); // first step 250 ms, equal jitter with random 0 → 125
      expect(warnings.map((w) => w.code)).toEqual(['RETRY']);
      expect(warnings[0]!.message).toContain('Thank you for using Alpha Vantage!');
    });
  }

  it('gives up after exactly 8 attempts with MarketDataError; the 7 waits follow the documented schedule', async () => {
    const { fetch, requests } = sequence(av('error-note-call-frequency.json'));
    const { data, delays, warnings } = adapter(fetch, { random: fixedRandom([0, 0.5, 0.999, 0.25, 0.75, 0.1, 0.9]) });
    const error = await failure(data.loadDailyRows('IBM'));
    expect(error).toBeInstanceOf(MarketDataError);
    expect((error as MarketDataError).symbol).toBe('IBM');
    expect(error.message).toMatch(/^TIME_SERIES_DAILY IBM \(outputsize=full\): no usable answer after 8 attempts \(last: Note: Thank you for using Alpha Vantage!/);
    expect(error.message).not.toContain(KEY);
    expect(requests).toHaveLength(8);
    // step_n = 250·2^(n−1): 250 … 16000; wait = step/2 + random·step/2
    expect(delays).toEqual([125, 375, 1000, 1250, 3500, 4400, 15200]);
    expect(warnings.map((w) => w.code)).toEqual([...Array(7).fill('RETRY'), 'GAVE_UP']);
  });

  it('after one symbol exhausted its attempts on throttling, the next symbols fail fast without a request until the breaker closes', async () => {
    let nowMs = Date.parse('2020-06-01T14:00:00Z');
    const { fetch, requests } = sequence(av('error-information-daily-rate-limit.json'));
    const { data, warnings } = adapter(fetch, { breaker: new ThrottleBreaker(() => nowMs) });
    await expect(data.loadDailyRows('IBM')).rejects.toThrow('no usable answer after 8 attempts');
    expect(requests).toHaveLength(8);
    const skipped = await failure(data.loadDailyRows('MSFT'));
    expect(skipped).toBeInstanceOf(MarketDataError);
    expect((skipped as MarketDataError).symbol).toBe('MSFT');
    expect(skipped.message).toBe(
      'TIME_SERIES_DAILY MSFT (outputsize=full): not sent: the API gave no usable answer to an earlier request (IBM: Information: Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits.); requests resume after 2020-06-01T14:10:00.000Z',
    );
    expect(requests).toHaveLength(8);
    expect(warnings.at(-1)?.code).toBe('SKIPPED');
    // Ten minutes later requests are sent again.
    nowMs += THROTTLE_BREAKER_OPEN_MS;
    await expect(data.loadDailyRows('MSFT')).rejects.toThrow('no usable answer after 8 attempts');
    expect(requests).toHaveLength(16);
  });

  it('an invalid call (Error Message) does not trip the breaker', async () => {
    const { fetch, requests } = sequence(av('error-message-invalid-call-time-series-daily.json'), av('crazzyghost-daily.json'));
    const { data } = adapter(fetch);
    await expect(data.loadDailyRows('MSFT')).rejects.toThrow('Alpha Vantage refused');
    expect(await data.loadDailyRows('IBM')).toHaveLength(2);
    expect(requests).toHaveLength(2);
  });

  it('with real randomness every wait lies within [step/2, step] and none exceeds 20 s', async () => {
    const { fetch } = sequence(av('error-information-daily-rate-limit.json'));
    const { data, delays } = adapter(fetch, { random: Math.random, policy: { maxAttempts: 10 } });
    await expect(data.loadDailyRows('IBM')).rejects.toThrow('no usable answer after 10 attempts');
    const steps = [250, 500, 1000, 2000, 4000, 8000, 16000, 20000, 20000];
    expect(delays).toHaveLength(steps.length);
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(steps[i]! / 2);
      expect(delay).toBeLessThanOrEqual(steps[i]!);
    });
  });

  it('an "Error Message" is not retried: MarketDataError naming the symbol and quoting the message', async () => {
    const { fetch, requests } = sequence(av('error-message-invalid-call-time-series-daily.json'));
    const { data, delays } = adapter(fetch);
    const error = await failure(data.loadDailyRows('IBM'));
    expect(error).toBeInstanceOf(MarketDataError);
    expect(error.message).toBe(
      'Alpha Vantage refused TIME_SERIES_DAILY IBM (outputsize=full): Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY.',
    );
    expect(requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('retries HTTP 503, HTTP 429 and a network failure, then succeeds', async () => {
    const { fetch, requests } = sequence(
      () => respond('busy', 503),
      () => respond('slow down', 429),
      () => new TypeError('fetch failed', { cause: new Error('ECONNRESET') }),
      av('crazzyghost-daily.json'),
    );
    const { data, delays, warnings } = adapter(fetch);
    expect(await data.loadDailyRows('IBM')).toHaveLength(2);
    expect(requests).toHaveLength(4);
    expect(delays).toEqual([188, 375, 750]);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('HTTP 503 "busy"'),
      expect.stringContaining('HTTP 429 "slow down"'),
      expect.stringContaining('network error: fetch failed (ECONNRESET)'),
    ]);
  });

  it('does not retry other HTTP errors or a body that is not JSON', async () => {
    const notFound = sequence(() => respond('nope', 404));
    await expect(adapter(notFound.fetch).data.loadDailyRows('IBM')).rejects.toThrow('TIME_SERIES_DAILY IBM (outputsize=full): HTTP 404 "nope"');
    expect(notFound.requests).toHaveLength(1);
    const html = sequence(() => respond('<html>maintenance</html>'));
    await expect(adapter(html.fetch).data.loadDailyRows('IBM')).rejects.toThrow('answer is not JSON (HTTP 200): "<html>maintenance</html>"');
    expect(html.requests).toHaveLength(1);
  });

  it('without ALPHAVANTAGE_API_KEY it fails before any request, naming the variable', async () => {
    const { fetch, requests } = sequence(av('crazzyghost-daily.json'));
    const { data } = adapter(fetch, { credentials: credentials({ APCA_API_KEY_ID: 'x' }) });
    await expect(data.loadDailyRows('IBM')).rejects.toThrow('Alpha Vantage API key missing: ALPHAVANTAGE_API_KEY is not set');
    expect(requests).toHaveLength(0);
  });

  it('refuses an invalid symbol and an unacceptable base URL', async () => {
    const { data } = adapter(sequence(av('crazzyghost-daily.json')).fetch);
    await expect(data.loadDailyRows('ibm')).rejects.toThrow(MarketDataError);
    expect(() => adapter(fetch, { baseUrl: 'http://www.alphavantage.co' })).toThrow(
      'ALPHAVANTAGE_BASE_URL must use https (http only on 127.0.0.1/localhost), got "http://www.alphavantage.co"',
    );
  });
});

describe('NEWS_SENTIMENT and OVERVIEW', () => {
  const client = (fetchImpl: typeof fetch) =>
    new AlphaVantageClient({ credentials: credentials({ ALPHAVANTAGE_API_KEY: KEY }), baseUrl: BASE, fetch: fetchImpl, sleep: recordingSleep().sleep });

  it('parses news-sentiment-AAPL-full.json into typed articles', async () => {
    const { fetch, requests } = sequence(av('news-sentiment-AAPL-full.json'));
    const news = await client(fetch).getNewsSentiment({ tickers: ['AAPL'], sort: 'LATEST', limit: 50 });
    expect(Object.fromEntries(requests[0]!.url.searchParams)).toEqual({ function: 'NEWS_SENTIMENT', tickers: 'AAPL', sort: 'LATEST', limit: '50', apikey: KEY });
    expect(news.items).toBe(50);
    expect(news.feed).toHaveLength(50);
    expect(news.sentimentScoreDefinition).toMatch(/^x <= -0.35: Bearish/);
    const first = news.feed[0]!;
    expect(first).toMatchObject({
      title: 'Apple Music Support Seems To Be Finally Coming To Tesla Cars - Tesla  ( NASDAQ:TSLA ) ',
      timePublished: '20221121T152155',
      authors: ['Ananya Gairola'],
      source: 'Benzinga',
      sourceDomain: 'www.benzinga.com',
      topics: [
        { topic: 'Manufacturing', relevanceScore: 0.5 },
        { topic: 'Technology', relevanceScore: 0.5 },
      ],
      overallSentimentScore: 0.075005,
      overallSentimentLabel: 'Neutral',
    });
    expect(first.tickerSentiment[1]).toEqual({ ticker: 'AAPL', relevanceScore: 0.934304, sentimentScore: 0.168185, sentimentLabel: 'Somewhat-Bullish' });
    // An empty banner image is reported as none.
    expect(news.feed.filter((a) => a.bannerImage === null)).toHaveLength(2);
  });

  it('the feed-only recording (news-sentiment-AAPL-feed.json) parses to the same articles', async () => {
    const news = await client(sequence(av('news-sentiment-AAPL-full.json')).fetch).getNewsSentiment({ tickers: ['AAPL'] });
    const feed = z.array(AlphaVantageNewsItemSchema).parse(fixtureJson('alphavantage', 'news-sentiment-AAPL-feed.json')).map(toNewsItem);
    expect(feed).toEqual(news.feed);
  });

  it('refuses an invalid news query before sending it, naming the field and value', async () => {
    const { fetch, requests } = sequence(av('news-sentiment-AAPL-full.json'));
    await expect(client(fetch).getNewsSentiment({ tickers: ['AAPL'], limit: 0 })).rejects.toThrow('NEWS_SENTIMENT query: limit=0');
    await expect(client(fetch).getNewsSentiment({ tickers: ['AAPL'], timeFrom: '2022-11-21' })).rejects.toThrow('timeFrom="2022-11-21": must be YYYYMMDDTHHMM');
    expect(requests).toHaveLength(0);
  });

  it('a news answer of the wrong shape is a MarketDataError naming the path', async () => {
    const broken = fixtureJson('alphavantage', 'news-sentiment-AAPL-full.json');
    broken.feed[3].overall_sentiment_score = 'high';
    const error = await failure(client(sequence(() => respond(JSON.stringify(broken))).fetch).getNewsSentiment({ tickers: ['AAPL'] }));
    expect(error).toBeInstanceOf(MarketDataError);
    expect(error.message).toContain('feed.3.overall_sentiment_score="high"');
  });

  it('parses crazzyghost-companyoverview.json (decimals kept as text, dates checked)', async () => {
    const { fetch, requests } = sequence(av('crazzyghost-companyoverview.json'));
    const overview = await client(fetch).getCompanyOverview('IBM');
    expect(Object.fromEntries(requests[0]!.url.searchParams)).toEqual({ function: 'OVERVIEW', symbol: 'IBM', apikey: KEY });
    expect(overview).toMatchObject({
      symbol: 'IBM',
      name: 'International Business Machines Corporation',
      exchange: 'NYSE',
      currency: 'USD',
      sector: 'Technology',
      fiscalYearEnd: 'December',
      latestQuarter: '2020-09-30',
      exDividendDate: '2020-11-09',
      lastSplitDate: '1999-05-27',
      lastSplitFactor: '2:1',
      marketCapitalization: '117307654144',
      peRatio: '14.9212',
      dividendYield: '0.0501',
      quarterlyRevenueGrowthYoy: '-0.026',
      week52High: '150.8394',
      movingAverage200Day: '122.5964',
      sharesOutstanding: '891057024',
    });
    expect(overview.raw.ShortRatio).toBe('5.2');
  });

  it('OVERVIEW: "None" is null, an odd value is refused naming field and value, {} means no overview', async () => {
    const withNone = { ...fixtureJson('alphavantage', 'crazzyghost-companyoverview.json'), PEGRatio: 'None', DividendDate: 'None' };
    const overview = await client(sequence(() => respond(JSON.stringify(withNone))).fetch).getCompanyOverview('IBM');
    expect(overview.pegRatio).toBeNull();
    expect(overview.dividendDate).toBeNull();
    const odd = { ...withNone, PERatio: '14,92' };
    await expect(client(sequence(() => respond(JSON.stringify(odd))).fetch).getCompanyOverview('IBM')).rejects.toThrow(
      'OVERVIEW IBM: PERatio must be a decimal number, got "14,92"',
    );
    await expect(client(sequence(() => respond('{}')).fetch).getCompanyOverview('XYZ')).rejects.toThrow(
      'OVERVIEW XYZ: Alpha Vantage has no company overview for XYZ (empty answer)',
    );
  });
});

describe('incremental loads through the cache', () => {
  const NOW = new Date('2018-05-12T14:00:00Z'); // Saturday morning in New York: 2018-05-11 is final
  const payload = () => fixtureJson('alphavantage', 'kirlut-daily-not-adjusted.json');
  /** The fixture plus a 2018-05-11 day, as a later compact answer would bring it. */
  const withNextDay = () => {
    const p = payload();
    p['Time Series (Daily)'] = {
      '2018-05-11': { '1. open': '97.5000', '2. high': '98.0000', '3. low': '97.1000', '4. close': '97.7000', '5. volume': '15000000' },
      ...p['Time Series (Daily)'],
    };
    return p;
  };

  it('loads the full history once, then asks for compact and merges', async () => {
    const cache = new MemoryBarCache();
    const answers = [() => respond(JSON.stringify(payload())), () => respond(JSON.stringify(withNextDay()))];
    const { fetch, requests } = fakeFetch((_url, i) => answers[i]!());
    const { data, warnings } = adapter(fetch, { cache, now: () => NOW, reuseForMs: 0 });

    expect((await data.loadDailyRows('MSFT')).map((r) => r.date)).toEqual(['2018-05-08', '2018-05-09', '2018-05-10']);
    expect((await cache.get('alphavantage', 'MSFT'))!.lastLoad).toBe('full');

    const rows = await data.loadDailyRows('MSFT');
    expect(requests.map((r) => r.url.searchParams.get('outputsize'))).toEqual(['full', 'compact']);
    expect(rows.map((r) => [r.line, r.date])).toEqual([
      [1, '2018-05-08'],
      [2, '2018-05-09'],
      [3, '2018-05-10'],
      [4, '2018-05-11'],
    ]);
    const entry = (await cache.get('alphavantage', 'MSFT'))!;
    expect(entry).toMatchObject({ lastLoad: 'incremental', fetchedAt: NOW.toISOString() });
    expect(entry.rows).toHaveLength(4);
    expect(warnings).toEqual([]);
  });

  it('when an overlapping date disagrees, discards the cache and reloads the full history', async () => {
    const cache = new MemoryBarCache();
    const changed = withNextDay();
    changed['Time Series (Daily)']['2018-05-09']['4. close'] = '96.9300';
    const answers = [() => respond(JSON.stringify(payload())), () => respond(JSON.stringify(changed)), () => respond(JSON.stringify(changed))];
    const { fetch, requests } = fakeFetch((_url, i) => answers[i]!());
    const { data, warnings } = adapter(fetch, { cache, now: () => NOW, reuseForMs: 0 });
    await data.loadDailyRows('MSFT');
    const rows = await data.loadDailyRows('MSFT');
    expect(requests.map((r) => r.url.searchParams.get('outputsize'))).toEqual(['full', 'compact', 'full']);
    expect(rows.find((r) => r.date === '2018-05-09')!.close).toBe('96.9300');
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_RESET']);
    expect(warnings[0]!.message).toContain('the cached close of 2018-05-09 was "96.9400", the API now says "96.9300"');
    expect((await cache.get('alphavantage', 'MSFT'))!.lastLoad).toBe('full');
  });

  it('never caches the bar of the current New York session; returns it all the same', async () => {
    const cache = new MemoryBarCache();
    const { data } = adapter(sequence(() => respond(JSON.stringify(payload()))).fetch, { cache, now: () => new Date('2018-05-10T15:00:00Z') });
    expect((await data.loadDailyRows('MSFT')).map((r) => r.date)).toEqual(['2018-05-08', '2018-05-09', '2018-05-10']);
    expect((await cache.get('alphavantage', 'MSFT'))!.rows.map((r) => r.date)).toEqual(['2018-05-08', '2018-05-09']);
  });

  it('reuses a load from memory within reuseForMs, and lists the configured symbols', async () => {
    const { fetch, requests } = sequence(() => respond(JSON.stringify(payload())));
    const { data } = adapter(fetch, { now: () => NOW });
    const first = await data.loadDailyRows('MSFT');
    first[0]!.close = 'tampered';
    expect((await data.loadDailyRows('MSFT'))[0]!.close).toBe('95.8100');
    expect(requests).toHaveLength(1);
    expect(await data.listSymbols()).toEqual(['IBM', 'MSFT', 'SPY']);
  });
});
