/**
 * The risk kernel's persistence on dynalite: the day lock (write-once per session), the kernel's
 * memory, the end-of-session equity curve, and the risk-audit table.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DynamoRiskAudit } from '../../../lambdas/adapters/dynamodb/risk-audit';
import { DynamoTradingStateStore } from '../../../lambdas/adapters/dynamodb/trading-state';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';

let dynamo: TestDynamo;
let store: DynamoTradingStateStore;
beforeEach(async () => {
  dynamo = await startTestDynamo();
  store = new DynamoTradingStateStore(dynamo.db, dynamo.tables.tradingState, 'momo1');
});
afterEach(async () => {
  await dynamo.stop();
});

describe('day lock', () => {
  test('the first lock of a session wins and is returned to later writers; other sessions are unaffected', async () => {
    const first = { date: '2018-02-05', cause: 'DAILY_LOSS_LIMIT: day P&L -2.10%', since: '2018-02-05T14:45:00.000Z' };
    expect(await store.setDayLock(first)).toEqual(first);
    expect(await store.setDayLock({ date: '2018-02-05', cause: 'FLATTENED: END_OF_DAY', since: '2018-02-05T20:45:00.000Z' })).toEqual(first);
    expect(await store.getDayLock('2018-02-05')).toEqual(first);
    expect(await store.getDayLock('2018-02-06')).toBeUndefined();
  });
});

describe('risk memory and equity curve', () => {
  test('memory round-trips; absent for a new account', async () => {
    expect(await store.getRiskMemory()).toBeUndefined();
    const memory = { highWaterMark: '104000.5', highWaterMarkAt: '2018-01-26T14:45:00.000Z', milestoneBaseline: '100000', milestoneLevel: 0, drawdownRung: 'reduce' as const };
    await store.putRiskMemory(memory);
    expect(await store.getRiskMemory()).toEqual(memory);
  });

  test('listEquity returns the latest points strictly before the date, oldest first, at most `limit`', async () => {
    for (const [date, equity] of [['2018-02-01', '100'], ['2018-02-02', '101'], ['2018-02-05', '99'], ['2018-02-06', '98']] as const) {
      await store.putEquity({ date, equity, cash: '10', at: `${date}T21:15:00.000Z` });
    }
    expect((await store.listEquity('2018-02-06', 10)).map((p) => p.date)).toEqual(['2018-02-01', '2018-02-02', '2018-02-05']);
    expect((await store.listEquity('2018-02-06', 2)).map((p) => [p.date, p.equity])).toEqual([['2018-02-02', '101'], ['2018-02-05', '99']]);
    expect(await store.listEquity('2018-02-01', 5)).toEqual([]);
  });
});

describe('risk audit', () => {
  test('records the run state and every decision of a session; a retried write is idempotent', async () => {
    const audit = new DynamoRiskAudit(dynamo.db, dynamo.tables.riskAudit, 'momo1');
    const state = {
      runId: 'run-1',
      phase: 'trade',
      tradingDate: '2018-02-05',
      at: '2018-02-05T14:45:00.000Z',
      tradingState: { state: 'ACTIVE' as const, cause: 'KILL_SWITCH: kill switch is ARMED' },
      sizeMultiplier: 0.5,
      readings: [{ rule: 'DAILY_LOSS_SOFT', status: 'reduce' as const, detail: 'DAILY_LOSS_SOFT: day P&L -1.60% ...' }],
      metrics: {
        equity: '98400', sessionStartEquity: '100000', dailyPnlFraction: -0.016, highWaterMark: '100000', drawdownFraction: -0.016,
        rollingSharpe: null, ulcerIndex: null, lossStreak: 0, entriesToday: 0, regime: null,
      },
      limits: { maxPositionFraction: 0.1 },
    };
    const decisions = Array.from({ length: 30 }, (_, seq) => ({
      runId: 'run-1', phase: 'trade', tradingDate: '2018-02-05', at: state.at, seq, symbol: `S${seq}`, kind: 'entry' as const, action: 'buy_to_open' as const,
      allowed: seq === 0, rule: seq === 0 ? ('OK' as const) : ('MAX_OPEN_POSITIONS' as const), reason: seq === 0 ? 'OK: buy 1 S0' : 'MAX_OPEN_POSITIONS: 10 held or pending >= limit 10', qty: seq === 0 ? '1' : null, adjustedQty: null,
    }));
    await audit.record(state, decisions);
    await audit.record(state, decisions);
    const read = await audit.listSession('2018-02-05');
    expect(read.states).toEqual([state]);
    expect(read.decisions).toHaveLength(30);
    expect(read.decisions[0]).toEqual(decisions[0]);
    expect(read.decisions.map((d) => d.seq)).toEqual(decisions.map((d) => d.seq));
    expect((await audit.listSession('2018-02-06')).decisions).toEqual([]);
    // The same execution's end-of-day flatten keeps its own records next to the morning's.
    await audit.record({ ...state, phase: 'end_of_day' }, [{ ...decisions[0]!, phase: 'end_of_day', kind: 'exit', action: 'sell_to_close', rule: 'EXIT', reason: 'EXIT: sell 1 S0' }]);
    const both = await audit.listSession('2018-02-05');
    expect(both.states.map((s) => s.phase).sort()).toEqual(['end_of_day', 'trade']);
    expect(both.decisions).toHaveLength(31);
  });
});
