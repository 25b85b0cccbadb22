/**
 * Composition root: the adapters a handler runs with.
 *
 * In Lambda, `depsFromEnv` builds them from the environment the CDK stack sets (each function only
 * gets the variables of the resources it is granted, so every dependency is created lazily, on
 * first use). The local runner builds the same `Deps` shape with local adapters and dynalite.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { parseStrategyConfig, type StrategyConfig } from '../core/config';
import { TradingCalendar } from '../core/calendar';
import { SnsAlerts } from '../adapters/alerts/sns';
import { AlpacaBroker } from '../adapters/broker/alpaca/alpaca-broker';
import { AlpacaCalendar } from '../adapters/broker/alpaca/alpaca-calendar';
import { parseAlpacaLiveFlag } from '../adapters/broker/alpaca/config';
import { PaperBroker, paperCostsOf } from '../adapters/broker/paper/paper-broker';
import { DynamoPaperAccountStore } from '../adapters/broker/paper/stores';
import { CsvCalendar } from '../adapters/calendar/csv-calendar';
import { SystemClock } from '../adapters/clock';
import { createDocumentClient, tableNamesFromEnv } from '../adapters/dynamodb/client';
import { DynamoOrderLedger } from '../adapters/dynamodb/order-ledger';
import { DynamoRunArtifacts } from '../adapters/dynamodb/run-artifacts';
import { DynamoRiskAudit } from '../adapters/dynamodb/risk-audit';
import { DynamoAlertLog } from '../adapters/dynamodb/alert-log';
import { DeduplicatingAlerts } from '../adapters/alerts/deduplicating';
import { DynamoTradingStateStore } from '../adapters/dynamodb/trading-state';
import { DynamoBarCache } from '../adapters/dynamodb/market-data-cache';
import { CsvMarketData } from '../adapters/market-data/csv';
import { SsmKillSwitch } from '../adapters/parameters/ssm';
import { SecretsManagerCredentials } from '../adapters/secrets/secrets-manager';
import type { AlertPort, BrokerPort, CalendarPort, Clock, KillSwitchPort, MarketDataPort, SecretsPort, ModelSourcePort } from '../ports';
import { ENV } from './env';
import { BundledModelSource, FileModelSource } from '../adapters/model/model-source';
import { apiSourceSymbols, createMarketData, parseMarketDataSource } from './market-data';

/** Everything a pipeline step may use. */
export interface Deps {
  config: StrategyConfig;
  clock: Clock;
  marketData: MarketDataPort;
  calendar: CalendarPort;
  broker: BrokerPort;
  killSwitch: KillSwitchPort;
  alerts: AlertPort;
  secrets: SecretsPort;
  ledger: DynamoOrderLedger;
  tradingState: DynamoTradingStateStore;
  artifacts: DynamoRunArtifacts;
  /** Every risk decision and the limits in force (table RiskAudit). */
  riskAudit: DynamoRiskAudit;
  /** The predict step's model bundle (shipped, or MODEL_FILE). */
  model: ModelSourcePort;
  /** Waits between broker polls (cancel-and-verify). Default: real timers; tests and local runs may pass a no-op. */
  sleep?: (ms: number) => Promise<void>;
}

/** Supported values of the BROKER variable: `paper` (default) or `alpaca` (Alpaca Trading API v2). */
export const BROKERS = ['paper', 'alpaca'] as const;

/**
 * Deps for a Lambda, from environment variables (names in ENV and TABLES).
 * Each member is built on first access.
 * @throws Error naming the variable when one a handler needs is missing or invalid.
 */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): Deps {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  const config = parseStrategyConfig(env[ENV.strategyConfig] ? JSON.parse(env[ENV.strategyConfig]!) : {});
  const clock = new SystemClock();
  const db = once(() => createDocumentClient());
  // MARKET_DATA_SOURCE (fetch only; csv elsewhere): csv from DATA_DIR, or an API source with its keys
  // from the API-keys secret, the universe of the strategy config and the MarketDataCache table.
  const marketData = once((): MarketDataPort => {
    const source = parseMarketDataSource(env[ENV.marketDataSource]);
    if (source === 'csv') return new CsvMarketData({ dataDir: required(ENV.dataDir) });
    return createMarketData({
      source,
      env,
      credentials: secrets(),
      symbols: apiSourceSymbols(source, config),
      cache: new DynamoBarCache(db(), tableNamesFromEnv(env, ['marketDataCache']).marketDataCache!),
      onWarning: (warning) => marketDataLogger().warn(warning.message, { marketData: { ...warning } }),
    });
  });
  // With Alpaca the broker's own calendar is the truth (the bundled CSV ends in 2023); the range
  // covers the whole decision window (so the data-quality gate can check it for missing sessions:
  // 7 calendar days hold at least 5 sessions, plus a month for holidays) and the sessions an entry may live.
  const calendar = once((): CalendarPort => {
    if ((env[ENV.broker] ?? 'paper') !== 'alpaca') return new CsvCalendar({ file: required(ENV.calendarFile) });
    const day = (offsetDays: number) => new Date(clock.now().getTime() + offsetDays * 86_400_000).toISOString().slice(0, 10);
    const back = Math.ceil((config.lookbackBars * 7) / 5) + 30;
    return new AlpacaCalendar(broker() as AlpacaBroker, { start: day(-back), end: day(60) });
  });
  const tradingState = once(
    () => new DynamoTradingStateStore(db(), tableNamesFromEnv(env, ['tradingState']).tradingState!, config.strategyId),
  );
  const secrets = once(() => new SecretsManagerCredentials(new SecretsManagerClient({}), required(ENV.apiKeysSecretArn)));
  const broker = once((): BrokerPort => {
    const kind = env[ENV.broker] ?? 'paper';
    if (kind === 'alpaca') {
      // Keys from Secrets Manager; paper endpoint unless ALPACA_LIVE=true (a live URL without it is refused).
      return new AlpacaBroker({
        credentials: secrets(),
        baseUrl: env[ENV.alpacaBaseUrl],
        live: parseAlpacaLiveFlag(env[ENV.alpacaLive]),
        // A 429 is backed off inside the transport; the owner hears of it as a MEDIUM alert.
        onRateLimited: ({ request, attempt, retryAfterMs }) =>
          deps.alerts.publish({
            severity: 'MEDIUM',
            type: 'BROKER_RATE_LIMITED',
            message: `Alpaca answered 429 to ${request} (attempt ${attempt}${retryAfterMs !== undefined ? `, retry after ${retryAfterMs} ms` : ''})`,
            at: clock.now().toISOString(),
          }),
      });
    }
    if (kind !== 'paper') {
      throw new Error(`${ENV.broker}=${kind} is not supported in this release; supported: ${BROKERS.join(', ')}`);
    }
    return new PaperBroker({
      store: new DynamoPaperAccountStore(db(), tableNamesFromEnv(env, ['tradingState']).tradingState!),
      marketData: marketData(),
      calendar: calendar(),
      clock,
      costs: paperCostsOf(config),
      ...(env[ENV.paperInitialCash] ? { initialCash: env[ENV.paperInitialCash] } : {}),
    });
  });

  const deps = {} as Deps;
  const lazy = <K extends keyof Deps>(key: K, make: () => Deps[K]) =>
    Object.defineProperty(deps, key, { get: once(make), enumerable: true });
  lazy('config', () => config);
  lazy('clock', () => clock);
  lazy('marketData', marketData);
  lazy('calendar', calendar);
  lazy('broker', broker);
  lazy('model', () => (env[ENV.modelFile] ? new FileModelSource(env[ENV.modelFile]!) : new BundledModelSource()));
  lazy('killSwitch', () => new SsmKillSwitch(new SSMClient({}), required(ENV.killSwitchParameter)));
  // Alerts are de-duplicated per (severity, type) with the strategy's cooldown; the log lives in the
  // TradingState table, which every function that alerts is granted.
  lazy('alerts', () => new DeduplicatingAlerts(
    new SnsAlerts(new SNSClient({}), required(ENV.alertTopicArn)),
    new DynamoAlertLog(db(), tableNamesFromEnv(env, ['tradingState']).tradingState!, config.strategyId),
    { cooldownSeconds: config.alertCooldownSeconds, now: () => clock.now() },
  ));
  lazy('secrets', secrets);
  lazy('ledger', () => new DynamoOrderLedger(db(), tableNamesFromEnv(env, ['orderLedger']).orderLedger!, config.strategyId));
  lazy('tradingState', tradingState);
  lazy('artifacts', () => new DynamoRunArtifacts(db(), tableNamesFromEnv(env, ['runArtifacts']).runArtifacts!));
  lazy('riskAudit', () => new DynamoRiskAudit(db(), tableNamesFromEnv(env, ['riskAudit']).riskAudit!, config.strategyId));
  return deps;
}

/** Structured log of market-data warnings (retries, give-ups, cache resets) in Lambda. */
const marketDataLogger = once(() => new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'trading-pipeline' }));

const calendars = new WeakMap<CalendarPort, Promise<TradingCalendar>>();

/** The TradingCalendar of a calendar port, loaded once per port instance. */
export function loadCalendar(port: CalendarPort): Promise<TradingCalendar> {
  let cached = calendars.get(port);
  if (!cached) {
    cached = port.loadSessions().then((sessions) => new TradingCalendar(sessions));
    calendars.set(port, cached);
  }
  return cached;
}

function once<T>(make: () => T): () => T {
  let made = false;
  let value: T;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value;
  };
}
