import { describe, expect, it } from 'vitest';
import { AlpacaBroker } from '../../../lambdas/adapters/broker/alpaca/alpaca-broker';
import { AlpacaCalendar } from '../../../lambdas/adapters/broker/alpaca/alpaca-calendar';
import { CsvCalendar } from '../../../lambdas/adapters/calendar/csv-calendar';
import { PaperBroker } from '../../../lambdas/adapters/broker/paper/paper-broker';
import { depsFromEnv } from '../../../lambdas/wiring/deps';

describe('depsFromEnv (Lambda wiring)', () => {
  it('builds nothing until used, so a function only needs the variables of what it uses', () => {
    const deps = depsFromEnv({ RUN_ARTIFACTS_TABLE: 'artifacts' });
    expect(deps.config.strategyId).toBe('momo1');
    expect(deps.artifacts).toBeDefined();
  });

  it('names the missing variable when a dependency is used without it', () => {
    const deps = depsFromEnv({});
    expect(() => deps.ledger).toThrow('environment variable ORDER_LEDGER_TABLE (table OrderLedger) is not set');
    expect(() => deps.killSwitch).toThrow('environment variable KILL_SWITCH_PARAMETER is not set');
    expect(() => deps.alerts).toThrow('environment variable ALERT_TOPIC_ARN is not set');
  });

  it('wires the paper broker on DynamoDB when BROKER=paper', () => {
    const deps = depsFromEnv({ BROKER: 'paper', TRADING_STATE_TABLE: 't', DATA_DIR: '/var/task/data/daily', CALENDAR_FILE: '/var/task/x.csv' });
    expect(deps.broker).toBeInstanceOf(PaperBroker);
  });

  it('refuses a broker this release does not have, instead of trading somewhere unexpected', () => {
    const deps = depsFromEnv({ BROKER: 'ibkr', TRADING_STATE_TABLE: 't' });
    expect(() => deps.broker).toThrow('BROKER=ibkr is not supported in this release; supported: paper, alpaca');
  });

  it('wires the Alpaca adapter on the paper endpoint when BROKER=alpaca (keys from the API keys secret)', () => {
    const deps = depsFromEnv({ BROKER: 'alpaca', API_KEYS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:keys' });
    expect(deps.broker).toBeInstanceOf(AlpacaBroker);
    expect((deps.broker as AlpacaBroker).endpoint).toEqual({ baseUrl: 'https://paper-api.alpaca.markets', mode: 'paper' });
  });

  it('with BROKER=alpaca the session calendar is Alpaca\'s, not the bundled CSV (which ends in 2023)', () => {
    const deps = depsFromEnv({ BROKER: 'alpaca', API_KEYS_SECRET_ARN: 'arn:keys' });
    expect(deps.calendar).toBeInstanceOf(AlpacaCalendar);
    expect(depsFromEnv({ CALENDAR_FILE: '/x.csv' }).calendar).toBeInstanceOf(CsvCalendar);
  });

  it('BROKER=alpaca needs the API keys secret', () => {
    const deps = depsFromEnv({ BROKER: 'alpaca' });
    expect(() => deps.broker).toThrow('environment variable API_KEYS_SECRET_ARN is not set');
  });

  it('refuses the live Alpaca endpoint unless ALPACA_LIVE=true', () => {
    const base = { BROKER: 'alpaca', API_KEYS_SECRET_ARN: 'arn:keys', APCA_API_BASE_URL: 'https://api.alpaca.markets' };
    expect(() => depsFromEnv(base).broker).toThrow(/refusing APCA_API_BASE_URL=https:\/\/api\.alpaca\.markets: it is the LIVE \(real money\) endpoint/);
    expect(() => depsFromEnv({ ...base, ALPACA_LIVE: 'false' }).broker).toThrow(/LIVE \(real money\)/);
    expect(() => depsFromEnv({ ...base, ALPACA_LIVE: 'yes' }).broker).toThrow('ALPACA_LIVE must be "true"');
    expect((depsFromEnv({ ...base, ALPACA_LIVE: 'true' }).broker as AlpacaBroker).endpoint).toEqual({ baseUrl: 'https://api.alpaca.markets', mode: 'live' });
  });

  it('validates STRATEGY_CONFIG and names the bad field', () => {
    expect(() => depsFromEnv({ STRATEGY_CONFIG: JSON.stringify({ riskPerTrade: 0.5 }) })).toThrow(/riskPerTrade=0.5/);
    expect(depsFromEnv({ STRATEGY_CONFIG: JSON.stringify({ maxOpenPositions: 3 }) }).config.maxOpenPositions).toBe(3);
  });
});
