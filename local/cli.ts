/**
 * `npm start -- [--date YYYY-MM-DD] [--from YYYY-MM-DD --to YYYY-MM-DD] [--symbols A,B,...]
 *   [--data-dir DIR] [--state-dir DIR] [--kill-switch ARMED|REDUCE_ONLY|HALTED] [--report FILE]
 *   [--broker paper|alpaca] [--market-data csv|alphavantage|alpaca] [--fault-profile none|flaky|hostile] [--seed N]`
 *
 * `--market-data alphavantage|alpaca` fetches the bars from the API instead of --data-dir: keys from
 * ALPHAVANTAGE_API_KEY, or APCA_API_KEY_ID / APCA_API_SECRET_KEY (checked before anything runs), the
 * universe from --symbols or STRATEGY_CONFIG's universe (an API cannot list every symbol), fetched
 * bars cached under `<state-dir>/market-data-cache/`.
 *
 * `--broker alpaca` trades one session (default today, New York) on Alpaca's Trading API in real
 * time: keys from APCA_API_KEY_ID / APCA_API_SECRET_KEY (checked before anything runs), endpoint
 * from APCA_API_BASE_URL (default paper; live only with ALPACA_LIVE=true), sessions from Alpaca's
 * calendar; the run waits for the close before cancel-verify.
 *
 * Exit codes: 0 when the run completes (even if trading was halted); 2 for bad arguments or
 * unreadable data, with a message naming the problem; 1 when an execution fails (every session
 * still runs and is reported, as the next scheduled execution would in AWS).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import { formatUsd } from '../lambdas/core/money';
import { CsvMarketData } from '../lambdas/adapters/market-data/csv';
import { WithBenchmark } from '../lambdas/adapters/market-data/with-benchmark';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_DATA_DIR = resolve(ROOT, 'data/daily');
const CALENDAR_FILE = resolve(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv');
const ASL_FILE = resolve(ROOT, 'state-machines/trading-pipeline.asl.json');
const DEFAULT_INITIAL_CASH = '100000';
/** With --broker alpaca, bars ending more than this before the session get a note (a weekend plus a holiday is 4 days). */
const STALE_DATA_NOTE_MS = 4 * 86_400_000;

const USAGE = `usage: npm start -- [--date YYYY-MM-DD] [--from YYYY-MM-DD --to YYYY-MM-DD] [--symbols A,B,...]
                   [--data-dir DIR] [--state-dir DIR] [--kill-switch ARMED|REDUCE_ONLY|HALTED] [--report FILE]
                   [--broker paper|alpaca] [--market-data csv|alphavantage|alpaca]
                   [--fault-profile none|flaky|hostile] [--seed N]

  --date         session to trade (default: the last session in the data; with --broker alpaca: today in New York)
  --from/--to    run every NYSE session in the range, in order, on one account (paper broker only)
  --symbols      universe override (default: every symbol in --data-dir except the benchmark SPY)
  --data-dir     folder of daily CSVs named SYMBOL.csv or SYMBOL_data.csv (default: data/daily)
  --state-dir    where the local DynamoDB, paper account, kill switch and alerts live
                 (default: .local/state; with --broker alpaca: .local/alpaca-paper, or .local/alpaca-live)
  --kill-switch  set the kill-switch parameter before the run (local default on first use: ARMED;
                 HALTED with ALPACA_LIVE=true)
  --report FILE  write the run report as JSON
  --broker       paper (default): the local paper broker filling on real bars, simulated time;
                 alpaca: Alpaca's Trading API at APCA_API_BASE_URL (default the paper endpoint;
                 the live endpoint only with ALPACA_LIVE=true), keys from APCA_API_KEY_ID /
                 APCA_API_SECRET_KEY, sessions from Alpaca's calendar, real time (the run waits
                 until 15 minutes after the close before cancel-verify)
  --market-data  csv (default): the daily CSVs in --data-dir;
                 alphavantage: Alpha Vantage daily series (ALPHAVANTAGE_API_KEY; ALPHAVANTAGE_ADJUSTED=true
                 for the split/dividend-adjusted series; ALPHAVANTAGE_BASE_URL overrides the origin);
                 alpaca: Alpaca market data v2 daily bars, adjustment=all (APCA_API_KEY_ID /
                 APCA_API_SECRET_KEY; APCA_API_DATA_URL overrides the origin).
                 The API sources need --symbols or a universe in STRATEGY_CONFIG, and cache what they
                 fetched in <state-dir>/market-data-cache/
  --fault-profile none|flaky|hostile   seeded faults injected into the paper broker (default none)
  --seed N       seed of the fault injector (default 1); the same seed reproduces the same run
  --model FILE   the predict step's model: a walk-forward bundle or one artifact (JSON, e.g. from
                 npm run train, or an XGBoost model in the artifact envelope); default the shipped
                 models/baseline-ridge-fwd5.json. Each session uses the latest snapshot trained
                 before it (no snapshot yet: nothing is bought, reason MODEL_NOT_AVAILABLE)
  --progress bar|lines   a range shows a progress bar (default on a terminal; the per-session lines
                 and alerts then go only to the state directory) or one line per session (default
                 otherwise)
  --action       trade (default) or flatten: cancel every open order (cancel-and-verify), close
                 every position with market orders, and lock the day — the kill switch's flatten`;

/** A problem with the arguments or the data: exit code 2. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) {
    console.error(`node ${process.versions.node} is too old: run through "npm start", which uses the project's Node 24 (node_modules/.bin/node)`);
    return 2;
  }
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_SERVICE_NAME ??= 'trading-pipeline-local';

  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        date: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        symbols: { type: 'string' },
        'data-dir': { type: 'string' },
        'state-dir': { type: 'string' },
        'kill-switch': { type: 'string' },
        report: { type: 'string' },
        broker: { type: 'string' },
        'market-data': { type: 'string' },
        'fault-profile': { type: 'string' },
        seed: { type: 'string' },
        action: { type: 'string' },
        model: { type: 'string' },
        progress: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }

  // Imported after the log level is set: the handlers create their logger at import time.
  const [{ runLocal, LocalRunError, alpacaSettingsFromEnv, createLocalMarketData }, { FAULT_PROFILES, isFaultProfile }, report, { parseMarketDataSource }, { CsvCalendar }, { TradingCalendar, isCalendarDate, newYorkDate }, { validateBarRows }, { parseStrategyConfig }, { KILL_SWITCH_STATES }] =
    await Promise.all([
      import('./runner'),
      import('../lambdas/adapters/broker/faults'),
      import('./report'),
      import('../lambdas/wiring/market-data'),
      import('../lambdas/adapters/calendar/csv-calendar'),
      import('../lambdas/core/calendar'),
      import('../lambdas/core/bars'),
      import('../lambdas/core/config'),
      import('../lambdas/core/kill-switch'),
    ]);

  const date = (flag: string, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    if (!isCalendarDate(value)) throw new UsageError(`--${flag} must be a real date YYYY-MM-DD, got "${value}"`);
    return value;
  };
  const single = date('date', args.date);
  const from = date('from', args.from);
  const to = date('to', args.to);
  if (single && (from || to)) throw new UsageError('use either --date or --from/--to, not both');
  if ((from && !to) || (to && !from)) throw new UsageError('--from and --to go together');
  if (from && to && from > to) throw new UsageError(`--from ${from} is after --to ${to}`);

  const action = args.action ?? 'trade';
  if (action !== 'trade' && action !== 'flatten') throw new UsageError(`--action must be trade or flatten, got "${action}"`);

  const killSwitch = args['kill-switch'];
  if (killSwitch !== undefined && !(KILL_SWITCH_STATES as readonly string[]).includes(killSwitch)) {
    throw new UsageError(`--kill-switch must be one of ${KILL_SWITCH_STATES.join('|')}, got "${killSwitch}"`);
  }

  const brokerKind = args.broker ?? 'paper';
  if (brokerKind !== 'paper' && brokerKind !== 'alpaca') throw new UsageError(`--broker must be paper or alpaca, got "${brokerKind}"`);
  const faultProfile = args['fault-profile'] ?? 'none';
  if (!isFaultProfile(faultProfile)) throw new UsageError(`--fault-profile must be one of ${FAULT_PROFILES.join('|')}, got "${faultProfile}"`);
  if (faultProfile !== 'none' && brokerKind !== 'paper') throw new UsageError('--fault-profile injects faults into the paper broker only; drop it with --broker alpaca');
  let alpacaMode: string | undefined;
  if (brokerKind === 'alpaca') {
    if (from || to) {
      throw new UsageError('--from/--to replays past sessions, which only makes sense on the paper broker; --broker alpaca trades one session in real time (--date, default today)');
    }
    // Keys, ALPACA_LIVE and APCA_API_BASE_URL are checked before anything runs.
    try {
      alpacaMode = alpacaSettingsFromEnv(process.env).endpoint.mode;
    } catch (error) {
      if (error instanceof LocalRunError) throw new UsageError(error.message);
      throw error;
    }
  }
  let marketDataSource;
  try {
    marketDataSource = parseMarketDataSource(args['market-data'], '--market-data');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let seed = 1;
  if (args.seed !== undefined) {
    if (!/^\d{1,9}$/.test(args.seed)) throw new UsageError(`--seed must be a whole number 0..999999999, got "${args.seed}"`);
    seed = Number(args.seed);
  }

  const dataDir = resolve(args['data-dir'] ?? DEFAULT_DATA_DIR);
  if (marketDataSource === 'csv' && (!existsSync(dataDir) || !statSync(dataDir).isDirectory())) {
    throw new UsageError(`--data-dir ${dataDir} is not a readable directory`);
  }
  const stateDir = resolve(args['state-dir'] ?? (alpacaMode ? `.local/alpaca-${alpacaMode}` : '.local/state'));
  let config;
  try {
    config = parseStrategyConfig(process.env.STRATEGY_CONFIG ? JSON.parse(process.env.STRATEGY_CONFIG) : {});
  } catch (error) {
    throw new UsageError(`STRATEGY_CONFIG: ${(error as Error).message}`);
  }
  let symbols: string[] | undefined;
  if (args.symbols !== undefined) {
    symbols = [...new Set(args.symbols.split(',').map((s) => s.trim()).filter(Boolean))];
    if (symbols.length === 0) throw new UsageError('--symbols is empty');
  }
  // Where the bars come from, and what the run calls it in messages.
  const dataSource = marketDataSource === 'csv' ? dataDir : `the ${marketDataSource} API`;
  let marketData;
  try {
    marketData = createLocalMarketData({
      source: marketDataSource,
      dataDir,
      stateDir,
      config,
      ...(symbols ? { symbols } : {}),
      print: (line) => console.log(line),
    });
  } catch (error) {
    if (error instanceof LocalRunError) throw new UsageError(error.message);
    throw error;
  }
  let available: string[];
  try {
    available = await marketData.listSymbols();
  } catch (error) {
    throw new UsageError(`--data-dir ${dataDir}: ${(error as Error).message}`);
  }
  if (marketDataSource === 'csv' && !available.includes(config.benchmark) && dataDir !== DEFAULT_DATA_DIR) {
    // A folder without the benchmark (e.g. the full S&P 500 set) borrows the bundled one, so the
    // regime filter and the versus-benchmark features can work.
    const bundled = new CsvMarketData({ dataDir: DEFAULT_DATA_DIR });
    if ((await bundled.listSymbols()).includes(config.benchmark)) {
      marketData = new WithBenchmark(marketData, bundled, config.benchmark);
      available = await marketData.listSymbols();
      console.log(`note: ${dataDir} has no ${config.benchmark}; the benchmark comes from ${DEFAULT_DATA_DIR}`);
    }
  }
  if (available.length === 0) throw new UsageError(`--data-dir ${dataDir} holds no SYMBOL.csv or SYMBOL_data.csv files`);

  if (symbols !== undefined) {
    const missing = symbols.filter((s) => !available.includes(s));
    if (missing.length) throw new UsageError(`--symbols: no data file for ${missing.join(', ')} in ${dataDir}`);
    if (symbols.every((s) => s === config.benchmark)) throw new UsageError(`--symbols: ${config.benchmark} is the benchmark and is never traded; add at least one other symbol`);
  }

  // The last session any universe symbol has a bar for bounds what can be traded (fills need that bar).
  const universe = (symbols ?? available).filter((s) => s !== config.benchmark);
  let lastDataDate = '';
  for (const symbol of universe) {
    try {
      const bars = validateBarRows(await marketData.loadDailyRows(symbol)).bars;
      const last = bars[bars.length - 1]?.date;
      if (last && last > lastDataDate) lastDataDate = last;
    } catch {
      // An unreadable file is quarantined by the fetch step with its reason.
    }
  }
  if (!lastDataDate) throw new UsageError(`no readable bars for ${universe.join(', ')} from ${dataSource}`);

  let sessions: string[];
  if (brokerKind === 'alpaca') {
    // Alpaca's calendar and clock decide: runLocal checks the date is today or later and a session.
    const target = single ?? newYorkDate(new Date());
    if (Date.parse(target) - Date.parse(lastDataDate) > STALE_DATA_NOTE_MS) {
      console.log(
        `note: the bars from ${dataSource} end ${lastDataDate}; fetch needs each symbol's bar of the session before ${target} and quarantines the others ` +
          `(pass --data-dir with current daily bars, or --market-data alpaca|alphavantage, to trade)`,
      );
    }
    sessions = [target];
  } else {
    const calendar = new TradingCalendar(await new CsvCalendar({ file: CALENDAR_FILE }).loadSessions());
    const inCalendar = (d: string, flag: string) => {
      if (!calendar.covers(d)) throw new UsageError(`--${flag} ${d} is outside the NYSE calendar ${calendar.first.date}..${calendar.last.date}`);
    };
    if (from && to) {
      inCalendar(from, 'from');
      inCalendar(to, 'to');
      sessions = calendar.sessionsBetween(from, to).map((s) => s.date).filter((d) => d <= lastDataDate);
      if (sessions.length === 0) throw new UsageError(`no NYSE session with market data between ${from} and ${to} (data ends ${lastDataDate})`);
    } else {
      let target = single ?? lastDataDate;
      if (!single && target > calendar.last.date) {
        // API data reaches the present; the bundled calendar (and so a paper replay) ends earlier.
        console.log(`note: the bars from ${dataSource} end ${target}, after the bundled NYSE calendar (${calendar.last.date}); the default session is ${calendar.last.date} (pass --date to choose another)`);
        target = calendar.last.date;
      }
      if (!single && config.regimeFilter) {
        // The regime filter needs the benchmark's bar of the session before: by default trade the
        // latest session the data can decide on, not one the filter would refuse as stale.
        let benchmarkLast = '';
        try {
          benchmarkLast = validateBarRows(await marketData.loadDailyRows(config.benchmark)).bars.at(-1)?.date ?? '';
        } catch {
          // no benchmark file: the regime filter refuses every entry with its reason
        }
        const after = benchmarkLast ? calendar.nextSession(benchmarkLast) : undefined;
        if (after && after.date < target) {
          console.log(`note: the benchmark ${config.benchmark} ends ${benchmarkLast}; the regime filter needs it, so the default session is ${after.date} (the latest it can decide; pass --date to choose another)`);
          target = after.date;
        }
      }
      inCalendar(target, 'date');
      if (!calendar.isSession(target)) {
        const next = calendar.nextSession(target);
        throw new UsageError(`--date ${target} is not an NYSE session (weekend or holiday)${next ? `; next session ${next.date}` : ''}`);
      }
      if (target > lastDataDate) throw new UsageError(`--date ${target}: no market data for that session (data ends ${lastDataDate})`);
      sessions = [target];
    }
  }

  const isRange = Boolean(from && to);
  const progressMode = args.progress ?? (process.stderr.isTTY ? 'bar' : 'lines');
  if (progressMode !== 'bar' && progressMode !== 'lines') throw new UsageError(`--progress must be bar or lines, got "${progressMode}"`);
  const modelFile = args.model ? resolve(args.model) : undefined;
  if (modelFile && !existsSync(modelFile)) throw new UsageError(`--model ${args.model}: no such file`);
  // A range with a bar keeps the console to the bar; what it hides is in the state directory
  // (alerts.jsonl, the report) and anything CRITICAL is printed once the bar is done.
  const bar =
    isRange && progressMode === 'bar'
      ? new SingleBar(
          {
            format: 'replay |{bar}| {value}/{total} sessions | {date} | equity {equity} USD | {duration_formatted} elapsed, ETA {eta_formatted}',
            stream: process.stderr,
            hideCursor: true,
            noTTYOutput: true,
            notTTYSchedule: 5000,
            etaBuffer: 50,
          },
          Presets.shades_classic,
        )
      : null;
  const deferred: string[] = [];
  const print = bar
    ? (line: string) => {
        if (/CRITICAL|EXECUTION FAILED/.test(line)) deferred.push(line);
      }
    : (line: string) => console.log(line);
  bar?.start(sessions.length, 0, { date: sessions[0], equity: '-' });
  let result;
  try {
    result = await runLocal({
      sessions,
      ...(symbols ? { symbols } : {}),
      action,
      dataDir,
      stateDir,
      marketData,
      calendarFile: CALENDAR_FILE,
      aslFile: ASL_FILE,
      ...(killSwitch ? { killSwitch: killSwitch as (typeof KILL_SWITCH_STATES)[number] } : {}),
      config,
      initialCash: process.env.PAPER_INITIAL_CASH ?? DEFAULT_INITIAL_CASH,
      print,
      traceSteps: !isRange,
      broker: brokerKind,
      faultProfile,
      seed,
      ...(modelFile ? { modelFile } : {}),
      backtestReport: isRange,
      onSession: (r) => {
        if (bar) {
          bar.increment(1, { date: r.tradingDate, equity: formatUsd(r.equity) });
          const line = report.formatSessionLine(r);
          if (/CRITICAL|EXECUTION FAILED/.test(line)) deferred.push(line);
        } else print(isRange ? report.formatSessionLine(r) : report.formatSessionReport(r));
      },
    });
  } catch (error) {
    bar?.stop();
    if (error instanceof LocalRunError) throw new UsageError(error.message);
    throw error;
  }
  if (bar) {
    bar.stop();
    for (const line of deferred) console.log(line);
  }
  if (isRange) console.log(report.formatRangeSummary(result.summary));
  console.log(`State: ${stateDir}`);

  if (args.report) {
    const file = resolve(args.report);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(isRange ? result : result.days[0], null, 2)}\n`);
    console.log(`Report: ${file}`);
  }
  const failed = result.days.filter((d) => d.executionError);
  if (failed.length > 0) {
    console.error(`error: ${failed.length} execution(s) failed: ${failed.map((d) => `${d.tradingDate} (${d.executionError})`).join('; ')}`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}`);
      process.exitCode = 2;
    } else {
      console.error(`run failed: ${(error as Error).stack ?? String(error)}`);
      process.exitCode = 1;
    }
  },
);
