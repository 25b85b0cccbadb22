/**
 * `npm start -- --broker alpaca`: the local runner trading through the Alpaca adapter over real
 * HTTP. The fake Alpaca server (test/support/fake-alpaca-server.ts) is backed by a real PaperBroker
 * over the bundled bars and calendar, and the runner and that broker share ONE SimClock, so the
 * state machine's Wait before cancel-verify is simulated (the clock jumps to 15 minutes after the
 * close and the paper broker plays the session's bar). Also: the WallClock, the awaited clock of
 * executeLocally, the runner's refusals, and the CLI's exit-2 checks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PaperBroker } from '../../lambdas/adapters/broker/paper/paper-broker';
import { FilePaperAccountStore } from '../../lambdas/adapters/broker/paper/stores';
import { CsvCalendar } from '../../lambdas/adapters/calendar/csv-calendar';
import { SimClock } from '../../lambdas/adapters/clock';
import { createDocumentClient, localTableNames } from '../../lambdas/adapters/dynamodb/client';
import { DynamoOrderLedger } from '../../lambdas/adapters/dynamodb/order-ledger';
import { CsvMarketData } from '../../lambdas/adapters/market-data/csv';
import { newYorkTime } from '../../lambdas/core/calendar';
import { deriveClientOrderId } from '../../lambdas/core/client-order-id';
import { parseStrategyConfig } from '../../lambdas/core/config';
import { positionsFromFills, reconcilePositions } from '../../lambdas/core/ledger';
import { executeLocally } from '../../local/asl';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamo } from '../../local/dynalite';
import type { RangeReport } from '../../local/report';
import { alpacaSettingsFromEnv, DECISION_TIME_NY, LocalRunError, runLocal, WallClock, type LocalRunOptions } from '../../local/runner';
import { startFakeAlpacaServer, type FakeAlpacaServer } from '../support/fake-alpaca-server';

// The handlers create their logger at import time: keep their INFO lines out of the test output.
const logLevel = vi.hoisted(() => {
  const before = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  return before;
});

const ROOT = resolve(import.meta.dirname, '../..');
const DATA_DIR = join(ROOT, 'data/daily');
const CALENDAR_FILE = join(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv');
const ASL_FILE = join(ROOT, 'state-machines/trading-pipeline.asl.json');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const DATE = '2018-02-07';
const SYMBOLS = ['AMZN', 'NFLX', 'BA', 'LOW', 'GILD', 'KO'];
// Regime filter off: the bundled SPY ends 2017-12-29, so in February 2018 it would refuse every
// entry as stale and there would be no orders for these Alpaca runs to place.
const CONFIG = parseStrategyConfig({ regimeFilter: false });
const noWait = async (): Promise<void> => undefined;

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tp-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  if (logLevel === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
  else process.env.POWERTOOLS_LOG_LEVEL = logLevel;
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Options of an Alpaca run against `baseUrl` on `clock`, printing into `lines`. */
function alpacaRun(stateDir: string, clock: SimClock, env: NodeJS.ProcessEnv, lines: string[], date = DATE): LocalRunOptions {
  return {
    sessions: [date],
    symbols: SYMBOLS,
    dataDir: DATA_DIR,
    stateDir,
    calendarFile: CALENDAR_FILE,
    aslFile: ASL_FILE,
    config: CONFIG,
    initialCash: '100000',
    traceSteps: true,
    broker: 'alpaca',
    alpaca: { env, clock, sleep: noWait },
    print: (line) => lines.push(line),
  };
}

describe('runLocal with broker alpaca, over HTTP to the fake Alpaca server backed by a PaperBroker', { timeout: 180_000 }, () => {
  let fake: FakeAlpacaServer;
  let clock: SimClock;
  let paper: PaperBroker;
  let stateDir: string;
  let first: RangeReport;
  let second: RangeReport;
  let postsAfterFirst: number;
  const lines: string[] = [];

  beforeAll(async () => {
    const work = tempDir('alpaca-run');
    stateDir = join(work, 'state');
    const sessions = await new CsvCalendar({ file: CALENDAR_FILE }).loadSessions();
    // One clock for the runner (Wait state, handlers) and the broker behind the fake server, started
    // at the decision time (09:45 New York, inside the trade window).
    clock = new SimClock(newYorkTime(DATE, DECISION_TIME_NY.hour, DECISION_TIME_NY.minute));
    paper = new PaperBroker({
      store: new FilePaperAccountStore(join(work, 'backing-paper-account.json')),
      marketData: new CsvMarketData({ dataDir: DATA_DIR }),
      calendar: new CsvCalendar({ file: CALENDAR_FILE }),
      clock,
      initialCash: '100000',
    });
    fake = await startFakeAlpacaServer({ broker: paper, sessions, clock });
    const env = { APCA_API_KEY_ID: 'fake-key-id', APCA_API_SECRET_KEY: 'fake-secret-key', APCA_API_BASE_URL: fake.baseUrl };

    first = await runLocal(alpacaRun(stateDir, clock, env, lines));
    postsAfterFirst = fake.requests.filter((r) => r.route === 'POST /v2/orders').length;
    second = await runLocal(alpacaRun(stateDir, clock, env, lines));
  }, 180_000);

  afterAll(async () => {
    await fake?.close();
  });

  it('reads the sessions from Alpaca (GET /v2/calendar) and runs every step, the Wait jumping the shared clock to 15 minutes after the close', () => {
    expect(fake.requests.some((r) => r.route === 'GET /v2/calendar')).toBe(true);
    expect(lines.some((l) => l.startsWith('Broker: Alpaca local at http://127.0.0.1:'))).toBe(true);
    // Orders go out at the decision time, 09:45 New York (14:45Z in February; 09:00 = 14:00Z before the trade window).
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^ {2}step orders +2018-02-07T14:45:00\.000Z/)]));
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^ {2}step cancel-verify +2018-02-07T21:15:00\.000Z/)]));
    expect(clock.now().toISOString()).toBe('2018-02-07T21:15:00.000Z');
    expect(existsSync(join(stateDir, 'sim-clock.json'))).toBe(false);
    expect(existsSync(join(stateDir, 'paper-account.json'))).toBe(false);
    expect(existsSync(join(stateDir, 'broker.json'))).toBe(true);
  });

  it('sends every entry over HTTP as one OTO limit order carrying its stop_loss, under the derived client_order_id', () => {
    const day = first.days[0]!;
    expect(day.tradingDate).toBe(DATE);
    expect(day.killSwitch).toBe('ARMED');
    expect(day.orders.length).toBeGreaterThan(0);
    expect(day.orders.every((o) => o.submittedThisRun)).toBe(true);

    const posts = fake.requests.filter((r) => r.route === 'POST /v2/orders');
    expect(posts).toHaveLength(day.orders.length);
    for (const post of posts) {
      const body = post.body as Record<string, unknown>;
      const symbol = body.symbol as string;
      expect(body).toMatchObject({ side: 'buy', type: 'limit', time_in_force: 'gtc', order_class: 'oto' });
      const stop = (body.stop_loss as { stop_price?: unknown } | undefined)?.stop_price;
      expect(typeof stop, `${symbol} stop_loss.stop_price`).toBe('string');
      expect(Number(stop)).toBeLessThan(Number(body.limit_price));
      expect(body.take_profit).toBeUndefined();
      expect(body.client_order_id).toBe(deriveClientOrderId({ strategyId: CONFIG.strategyId, sessionDate: DATE, symbol, side: 'buy', purpose: 'entry' }));
    }
    expect(posts.map((p) => (p.body as { client_order_id: string }).client_order_id).sort()).toEqual(day.orders.map((o) => o.clientOrderId).sort());
  });

  it('records the Alpaca order ids in the ledger, and the broker behind the server holds those orders', async () => {
    for (const o of first.days[0]!.orders) {
      const backing = await paper.getOrderByClientOrderId(o.clientOrderId);
      expect(backing, o.clientOrderId).toBeDefined();
      expect(o.brokerOrderId).toBe(fake.alpacaId(backing!.id));
      expect(o.stopLossPrice).not.toBeNull();
    }
  });

  it('after cancel-verify the ledger matches the broker: fills recorded, positions equal, every position protected', async () => {
    const day = first.days[0]!;
    expect(day.fills.length).toBeGreaterThan(0);
    expect(day.reconciliation).toMatchObject({ matched: true, mismatches: [], unprotected: [] });
    expect(day.tradingState).toBe('ACTIVE');

    const brokerPositions = await paper.listPositions();
    expect(day.positions.map((p) => [p.symbol, p.qty]).sort()).toEqual(brokerPositions.map((p) => [p.symbol, Number(p.qty)]).sort());
    expect(day.positions.every((p) => p.stopLossPrice !== null)).toBe(true);

    // The ledger itself (dynalite in the state directory), positions from its fills vs the broker.
    const dynamo = await startLocalDynamo(join(stateDir, 'dynamodb'));
    try {
      const db = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
      const ledger = new DynamoOrderLedger(db, localTableNames().orderLedger, CONFIG.strategyId);
      const fromLedger = positionsFromFills(await ledger.listFills());
      expect(fromLedger.size).toBe(brokerPositions.length);
      expect(reconcilePositions(fromLedger, brokerPositions)).toEqual([]);
      db.destroy();
    } finally {
      await dynamo.stop();
    }
  });

  it('a second execution of the same date submits nothing (the session slot is owned by the first)', () => {
    const day = second.days[0]!;
    expect(fake.requests.filter((r) => r.route === 'POST /v2/orders')).toHaveLength(postsAfterFirst);
    expect(day.duplicateOf).toBe(first.days[0]!.runId);
    expect(day.orders.length).toBe(first.days[0]!.orders.length);
    expect(day.orders.every((o) => !o.submittedThisRun)).toBe(true);
    expect(day.reconciliation.matched).toBe(true);
    expect(day.alerts.map((a) => a.type)).toContain('DUPLICATE_RUN');
  });
});

describe('runLocal with broker alpaca refuses, before anything runs', { timeout: 60_000 }, () => {
  let fake: FakeAlpacaServer;
  let clock: SimClock;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    clock = new SimClock(newYorkTime('2018-02-09', 9, 0)); // a Friday
    const sessions = await new CsvCalendar({ file: CALENDAR_FILE }).loadSessions();
    const calendarOnly = new PaperBroker({
      store: new FilePaperAccountStore(join(tempDir('alpaca-refuse'), 'unused.json')),
      marketData: new CsvMarketData({ dataDir: DATA_DIR }),
      calendar: new CsvCalendar({ file: CALENDAR_FILE }),
      clock,
    });
    fake = await startFakeAlpacaServer({ broker: calendarOnly, sessions, clock });
    env = { APCA_API_KEY_ID: 'fake-key-id', APCA_API_SECRET_KEY: 'fake-secret-key', APCA_API_BASE_URL: fake.baseUrl };
  });

  afterAll(async () => {
    await fake?.close();
  });

  const refused = async (options: LocalRunOptions, message: RegExp) => {
    await expect(runLocal(options)).rejects.toThrow(LocalRunError);
    await expect(runLocal(options)).rejects.toThrow(message);
    expect(existsSync(join(options.stateDir, 'dynamodb'))).toBe(false);
    expect(fake.requests.some((r) => r.route === 'POST /v2/orders')).toBe(false);
  };

  it('a missing key, naming the variable (no request is made)', async () => {
    const before = fake.requests.length;
    const { APCA_API_SECRET_KEY: _omitted, ...noSecret } = env;
    await refused(alpacaRun(join(tempDir('nokey'), 's'), clock, noSecret, []), /APCA_API_SECRET_KEY is not set/);
    await refused(alpacaRun(join(tempDir('nokey'), 's'), clock, { APCA_API_BASE_URL: fake.baseUrl }, []), /APCA_API_KEY_ID and APCA_API_SECRET_KEY are not set/);
    expect(fake.requests.length).toBe(before);
  });

  it('a date that is not a session per Alpaca calendar, naming the next one', async () => {
    clock.advanceTo(newYorkTime('2018-02-10', 9, 0)); // Saturday
    await refused(alpacaRun(join(tempDir('weekend'), 's'), clock, env, [], '2018-02-10'), /2018-02-10 is not a trading session per Alpaca's calendar.*next session 2018-02-12/);
  });

  it('a date before the broker present', async () => {
    await refused(alpacaRun(join(tempDir('past'), 's'), clock, env, [], '2018-02-09'), /--date 2018-02-09 is in the past \(today is 2018-02-10/);
  });

  it('a range of sessions, and a state directory of the paper broker', async () => {
    await refused({ ...alpacaRun(join(tempDir('range'), 's'), clock, env, [], '2018-02-12'), sessions: ['2018-02-12', '2018-02-13'] }, /one session per run/);
    const paperDir = tempDir('paper-state');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(paperDir, 'sim-clock.json'), '{"now":"2018-02-07T21:15:00.000Z"}\n');
    await refused(alpacaRun(paperDir, clock, env, [], '2018-02-12'), /holds a paper-broker account/);
  });

  it('the live endpoint without ALPACA_LIVE=true, and a malformed ALPACA_LIVE', () => {
    const keys = { APCA_API_KEY_ID: 'k', APCA_API_SECRET_KEY: 's' };
    expect(() => alpacaSettingsFromEnv({ ...keys, APCA_API_BASE_URL: 'https://api.alpaca.markets' })).toThrow(/LIVE.*ALPACA_LIVE/);
    expect(() => alpacaSettingsFromEnv({ ...keys, ALPACA_LIVE: 'yes' })).toThrow(/ALPACA_LIVE must be "true"/);
    expect(alpacaSettingsFromEnv(keys).endpoint).toEqual({ baseUrl: 'https://paper-api.alpaca.markets', mode: 'paper' });
    expect(alpacaSettingsFromEnv({ ...keys, ALPACA_LIVE: 'true' }).endpoint).toEqual({ baseUrl: 'https://api.alpaca.markets', mode: 'live' });
  });
});

describe('WallClock', () => {
  /** A wall clock whose time only moves when it sleeps. */
  const manual = (startMs: number) => {
    let t = startMs;
    const sleeps: number[] = [];
    const printed: string[] = [];
    const clock = new WallClock({
      print: (line) => printed.push(line),
      now: () => t,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
      },
    });
    return { clock, sleeps, printed, now: () => t };
  };

  it('really waits until a future instant, in bounded sleeps, after one line saying until when', async () => {
    const start = Date.parse('2018-02-07T14:00:00.000Z');
    const { clock, sleeps, printed, now } = manual(start);
    await clock.advanceTo(new Date('2018-02-07T21:15:00.000Z'));
    expect(now()).toBe(Date.parse('2018-02-07T21:15:00.000Z'));
    expect(clock.now().toISOString()).toBe('2018-02-07T21:15:00.000Z');
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(7.25 * 3_600_000);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(60_000);
    expect(printed).toEqual(['  waiting until 2018-02-07T21:15:00.000Z (2018-02-07 16:15 New York, in 7h 15m) before the next step; keep this process running']);
  });

  it('is a silent no-op for an instant in the past or now, and refuses an invalid date', async () => {
    const { clock, sleeps, printed } = manual(Date.parse('2018-02-07T21:15:00.000Z'));
    await clock.advanceTo(new Date('2018-02-07T14:00:00.000Z'));
    await clock.advanceTo(new Date('2018-02-07T21:15:00.000Z'));
    expect(sleeps).toEqual([]);
    expect(printed).toEqual([]);
    await expect(clock.advanceTo(new Date(Number.NaN))).rejects.toThrow(/invalid date/);
  });
});

describe('executeLocally awaits the clock of a Wait state', () => {
  it('the state after the Wait runs only once an asynchronous advanceTo has resolved', async () => {
    const asl = JSON.stringify({
      StartAt: 'First',
      States: {
        First: { Type: 'Task', Resource: '${FirstFunctionArn}', Next: 'Pause' },
        Pause: { Type: 'Wait', Seconds: 3600, Next: 'Second' },
        Second: { Type: 'Task', Resource: '${SecondFunctionArn}', End: true },
      },
    });
    let t = Date.parse('2018-02-07T14:00:00.000Z');
    const waited: string[] = [];
    const clock = {
      now: () => new Date(t),
      advanceTo: async (at: Date) => {
        await new Promise((r) => setTimeout(r, 20));
        waited.push(at.toISOString());
        t = Math.max(t, at.getTime());
      },
    };
    const seen: string[] = [];
    const step = (name: string) => async (input: unknown) => {
      seen.push(`${name} ${clock.now().toISOString()}`);
      return input;
    };
    await executeLocally(asl, {}, { functions: { FirstFunctionArn: step('first'), SecondFunctionArn: step('second') }, integrations: {}, clock }, { name: 'e', startTime: '2018-02-07T14:00:00.000Z' });
    expect(waited).toEqual(['2018-02-07T15:00:00.000Z']);
    expect(seen).toEqual(['first 2018-02-07T14:00:00.000Z', 'second 2018-02-07T15:00:00.000Z']);
  });
});

describe('npm start -- --broker alpaca: argument checks (exit 2, before anything runs)', { timeout: 120_000 }, () => {
  /** The CLI in a child process with the APCA_* / ALPACA_* variables replaced by `env`. */
  function cli(args: string[], env: Record<string, string>) {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('APCA_') && !k.startsWith('ALPACA_')));
    const result = spawnSync(TSX, ['local/cli.ts', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...base, POWERTOOLS_LOG_LEVEL: 'WARN', ...env },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }
  const keys = { APCA_API_KEY_ID: 'test-key-id', APCA_API_SECRET_KEY: 'test-secret-key' };

  it('without APCA_API_KEY_ID: exit 2 naming the variable', () => {
    const stateDir = join(tempDir('cli-nokey'), 's');
    const r = cli(['--broker', 'alpaca', '--state-dir', stateDir], { APCA_API_SECRET_KEY: 'test-secret-key' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error: .*APCA_API_KEY_ID is not set/m);
    expect(r.stderr).not.toContain('test-secret-key');
    expect(existsSync(stateDir)).toBe(false);
  });

  it('with --from/--to: exit 2 (a range replay needs the paper broker)', () => {
    const stateDir = join(tempDir('cli-range'), 's');
    const r = cli(['--broker', 'alpaca', '--from', '2018-01-02', '--to', '2018-01-31', '--state-dir', stateDir], keys);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error: --from\/--to .*paper broker/m);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('with the live endpoint but no ALPACA_LIVE=true: exit 2', () => {
    const r = cli(['--broker', 'alpaca', '--state-dir', join(tempDir('cli-live'), 's')], { ...keys, APCA_API_BASE_URL: 'https://api.alpaca.markets' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error: refusing APCA_API_BASE_URL=https:\/\/api\.alpaca\.markets/m);
  });
});
