import { describe, expect, it } from 'vitest';
import {
  clearHaltIfRearmed,
  effectiveTradingState,
  INITIAL_TRADING_STATE,
  interpretKillSwitch,
  type PersistedTradingState,
} from '../../../lambdas/core/kill-switch';

describe('interpretKillSwitch fails closed', () => {
  it.each(['ARMED', 'REDUCE_ONLY', 'HALTED'] as const)('reads %s as itself', (value) => {
    expect(interpretKillSwitch({ ok: true, value })).toMatchObject({ state: value, failedClosed: false });
  });

  it('ignores surrounding whitespace', () => {
    expect(interpretKillSwitch({ ok: true, value: ' ARMED\n' }).state).toBe('ARMED');
  });

  it('an unreadable parameter means HALTED, with the error in the reason', () => {
    const status = interpretKillSwitch({ ok: false, error: 'ParameterNotFound: /trading-pipeline/kill-switch' });
    expect(status).toMatchObject({ state: 'HALTED', failedClosed: true });
    expect(status.reason).toContain('ParameterNotFound');
  });

  it.each(['', 'armed', 'ARMED!', 'ON', 'true', '1', 'REDUCE ONLY'])('an unrecognised value %j means HALTED', (value) => {
    const status = interpretKillSwitch({ ok: true, value });
    expect(status).toMatchObject({ state: 'HALTED', failedClosed: true });
    expect(status.reason).toContain(JSON.stringify(value));
  });
});

describe('effectiveTradingState: the most restrictive of kill switch and latch', () => {
  const armed = interpretKillSwitch({ ok: true, value: 'ARMED' });
  const halted: PersistedTradingState = { state: 'HALTED', cause: 'RECONCILIATION_MISMATCH: AAPL ledger 10 vs broker 0', since: '2018-02-07T21:15:00.000Z' };

  it('ARMED with no halt is ACTIVE', () => {
    expect(effectiveTradingState(armed, INITIAL_TRADING_STATE).state).toBe('ACTIVE');
  });
  it('REDUCE_ONLY is REDUCING', () => {
    expect(effectiveTradingState(interpretKillSwitch({ ok: true, value: 'REDUCE_ONLY' }), INITIAL_TRADING_STATE).state).toBe('REDUCING');
  });
  it('a HALTED latch wins over an ARMED switch', () => {
    expect(effectiveTradingState(armed, halted)).toEqual({ state: 'HALTED', cause: halted.cause });
  });
  it('a HALTED switch wins over everything', () => {
    expect(effectiveTradingState(interpretKillSwitch({ ok: true, value: 'HALTED' }), INITIAL_TRADING_STATE).state).toBe('HALTED');
  });
});

describe('clearHaltIfRearmed: only a person re-arming after the halt clears it', () => {
  const halted: PersistedTradingState = { state: 'HALTED', cause: 'RECONCILIATION_MISMATCH: x', since: '2018-02-07T21:15:00.000Z' };
  const now = '2018-02-08T14:00:00.000Z';

  it('clears when the switch was set to ARMED after the halt', () => {
    const rearmed = interpretKillSwitch({ ok: true, value: 'ARMED', lastModified: '2018-02-08T13:00:00.000Z' });
    expect(clearHaltIfRearmed(halted, rearmed, now)).toMatchObject({ state: 'ACTIVE', since: now });
  });
  it('keeps the halt when the switch was armed BEFORE the halt (nobody acted)', () => {
    const old = interpretKillSwitch({ ok: true, value: 'ARMED', lastModified: '2018-02-01T13:00:00.000Z' });
    expect(clearHaltIfRearmed(halted, old, now)).toBe(halted);
  });
  it('keeps the halt when the change time is unknown', () => {
    expect(clearHaltIfRearmed(halted, interpretKillSwitch({ ok: true, value: 'ARMED' }), now)).toBe(halted);
  });
  it('keeps the halt when the switch is not ARMED', () => {
    const reduce = interpretKillSwitch({ ok: true, value: 'REDUCE_ONLY', lastModified: '2018-02-08T13:00:00.000Z' });
    expect(clearHaltIfRearmed(halted, reduce, now)).toBe(halted);
  });
});
