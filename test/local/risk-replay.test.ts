/**
 * The risk kernel replayed over the real bundled data (the same state machine, paper broker and
 * dynalite as `npm start`), around three stress days: 2015-08-24 (the August 2015 flash crash),
 * 2016-06-24 (the Brexit vote) and 2018-02-05 (the Volmageddon sell-off).
 *
 * Every day of every replay is checked against the spec: the daily-loss ladder (from the session's
 * starting equity) and the drawdown ladder (from the high-water mark) must have fired exactly as
 * their measured values say, every refusal carries its rule code and values, and every decision is
 * in the risk-audit table. The specific firings pinned below are what the real data produces.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseStrategyConfig, type StrategyConfig } from '../../lambdas/core/config';
import type { RangeReport, SessionReport } from '../../local/report';
import { runLocal } from '../../local/runner';
import { bundledRun } from '../support/local-run';

/**
 * The pinned firings below come from the portfolio the momentum predictor builds on these days,
 * held until its stops, filled without slippage, so the replays keep that strategy (the model, the
 * holding-period exit and the cost model have their own tests; the ladders are checked whatever the
 * portfolio by expectLaddersAsSpecified).
 */
const PINNED_STRATEGY: Partial<StrategyConfig> = { predictor: 'momentum', maxHoldingSessions: 0, slippageBps: 0 };

async function replay(sessions: string[], config: Partial<StrategyConfig>, stateDir: string, killSwitch?: 'ARMED' | 'HALTED'): Promise<RangeReport> {
  return runLocal(bundledRun(sessions, { ...PINNED_STRATEGY, ...config }, stateDir, killSwitch ? { killSwitch } : {}));
}

const day = (r: RangeReport, date: string): SessionReport => {
  const found = r.days.find((d) => d.tradingDate === date);
  if (!found) throw new Error(`no report for ${date}`);
  return found;
};
const fired = (d: SessionReport, rule: string) => d.risk?.firings.find((f) => f.rule === rule);

/** The ladders fired exactly as the day's measured P&L and drawdown say (spec issue #4 §3). */
function expectLaddersAsSpecified(r: RangeReport, limits: StrategyConfig): void {
  for (const d of r.days) {
    expect(d.executionError, d.tradingDate).toBeNull();
    const m = d.risk!.metrics!;
    const dailyHard = m.dailyPnlFraction <= -limits.dailyLossHardFraction;
    const dailySoft = !dailyHard && m.dailyPnlFraction <= -limits.dailyLossSoftFraction;
    expect(Boolean(fired(d, 'DAILY_LOSS_LIMIT')), `${d.tradingDate} day P&L ${m.dailyPnlFraction}`).toBe(dailyHard);
    expect(Boolean(fired(d, 'DAILY_LOSS_SOFT')), `${d.tradingDate} day P&L ${m.dailyPnlFraction}`).toBe(dailySoft);
    const ddHalt = m.drawdownFraction <= -limits.drawdownHaltFraction;
    const ddReduce = !ddHalt && m.drawdownFraction <= -limits.drawdownReduceFraction;
    expect(Boolean(fired(d, 'MAX_DRAWDOWN')), `${d.tradingDate} drawdown ${m.drawdownFraction}`).toBe(ddHalt);
    expect(Boolean(fired(d, 'DRAWDOWN_REDUCE')), `${d.tradingDate} drawdown ${m.drawdownFraction}`).toBe(ddReduce);
    if (dailyHard) {
      expect(d.tradingState).toBe('HALTED');
      expect(d.risk!.dayLock?.cause).toMatch(/^DAILY_LOSS_LIMIT: /);
    }
    if (dailySoft || ddReduce) expect(d.risk!.sizeMultiplier).toBeLessThanOrEqual(limits.reducedSizeFactor);
    // Every decision: its rule code leads its reason, and it is in the risk-audit table.
    for (const x of d.decisions) expect(x.reason.startsWith(`${x.rule}: `), x.reason).toBe(true);
    expect(d.risk!.audited).toBe(d.decisions.length);
    // The report shows the limits in force and the state's cause.
    expect(d.limits).toMatchObject({ dailyLossHardFraction: limits.dailyLossHardFraction, maxPositionFraction: limits.maxPositionFraction });
    expect(d.tradingStateCause.length).toBeGreaterThan(0);
  }
}

describe('risk replay over the bundled data', { timeout: 600_000 }, () => {
  describe('2016-06-24 (Brexit), default limits', () => {
    const limits = parseStrategyConfig({});
    let r: RangeReport;
    beforeAll(async () => {
      r = await replay(['2016-06-20', '2016-06-21', '2016-06-22', '2016-06-23', '2016-06-24', '2016-06-27', '2016-06-28'], {}, mkdtempSync(join(tmpdir(), 'tp-brexit-')));
    });

    it('the ladders fire as specified on every day', () => expectLaddersAsSpecified(r, limits));

    it('the gap down locks the day at the -2% hard stop, with a CRITICAL alert, and the next session resumes', () => {
      const brexit = day(r, '2016-06-24');
      expect(brexit.risk!.metrics!.dailyPnlFraction).toBeLessThanOrEqual(-0.02);
      expect(brexit.tradingState).toBe('HALTED');
      expect(brexit.tradingStateCause).toMatch(/^DAILY_LOSS_LIMIT: day P&L -2\.\d\d% of session start equity [\d,.]+ USD <= -2\.00%/);
      const entries = brexit.decisions.filter((x) => x.kind === 'entry');
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.every((x) => !x.allowed && x.rule === 'DAILY_LOSS_LIMIT')).toBe(true);
      expect(brexit.alerts.some((a) => a.severity === 'CRITICAL' && a.type === 'DAILY_LOSS_LIMIT')).toBe(true);
      // Automatic resume: the lock was for 2016-06-24 only.
      for (const next of ['2016-06-27', '2016-06-28']) {
        expect(day(r, next).decisions.some((x) => x.rule === 'DAILY_LOSS_LIMIT' || x.rule === 'DAY_LOCKED')).toBe(false);
        expect(day(r, next).risk!.dayLock?.cause ?? '').not.toMatch(/DAILY_LOSS_LIMIT/);
      }
    });
  });

  describe('2015-08-24 (flash crash), default limits', () => {
    const limits = parseStrategyConfig({});
    let r: RangeReport;
    beforeAll(async () => {
      r = await replay(['2015-08-17', '2015-08-18', '2015-08-19', '2015-08-20', '2015-08-21', '2015-08-24', '2015-08-25'], {}, mkdtempSync(join(tmpdir(), 'tp-aug15-')));
    });

    it('the ladders fire as specified on every day', () => expectLaddersAsSpecified(r, limits));

    it('the stop-outs of the sell-off stop entries (LOSS_STREAK) and the regime filter turns risk-off', () => {
      for (const date of ['2015-08-21', '2015-08-24']) {
        const d = day(r, date);
        expect(fired(d, 'LOSS_STREAK')?.status).toBe('block');
        expect(d.tradingState).toBe('HALTED');
        expect(d.decisions.filter((x) => x.kind === 'entry').every((x) => !x.allowed)).toBe(true);
      }
      const regime = fired(day(r, '2015-08-24'), 'REGIME_FILTER');
      expect(regime?.detail).toMatch(/^REGIME_FILTER: SPY [\d.]+ < SMA200 [\d.]+ and 21d vol [\d.]+% > 1y median [\d.]+%; no new entries$/);
      expect(r.summary.riskFirings.LOSS_STREAK).toBeGreaterThanOrEqual(2);
    });
  });

  describe('2015-08-24 (flash crash) with the book kept open: the gap down at the open is a daily loss', () => {
    // The regime filter and the loss-streak stop are relaxed so the book is still invested on the
    // morning of 2015-08-24: the 09:45 marks (at the open) then show the day's loss.
    const overrides = { regimeFilter: false, lossStreakReduceAt: 50, lossStreakStopAt: 50 };
    const limits = parseStrategyConfig(overrides);
    let r: RangeReport;
    beforeAll(async () => {
      r = await replay(['2015-08-17', '2015-08-18', '2015-08-19', '2015-08-20', '2015-08-21', '2015-08-24', '2015-08-25'], overrides, mkdtempSync(join(tmpdir(), 'tp-aug15-open-')));
    });

    it('the ladders fire as specified on every day', () => expectLaddersAsSpecified(r, limits));

    it('on 2015-08-24 the gap down is a -1.95% day at 09:45: the soft stop halves every entry, HIGH alert past half the limit', () => {
      const crash = day(r, '2015-08-24');
      expect(crash.risk!.metrics!.dailyPnlFraction).toBeCloseTo(-0.0195, 4);
      expect(fired(crash, 'DAILY_LOSS_SOFT')!.detail).toMatch(/^DAILY_LOSS_SOFT: day P&L -1\.95% of session start equity [\d,.]+ USD <= -1\.50%; size x 0\.5$/);
      expect(fired(crash, 'DAILY_LOSS_LIMIT')).toBeUndefined();
      expect(crash.risk!.sizeMultiplier).toBe(0.5);
      expect(crash.alerts.filter((a) => a.type === 'DAILY_LOSS').map((a) => a.severity)).toEqual(['HIGH']);
      const allowed = crash.decisions.filter((x) => x.kind === 'entry' && x.allowed);
      expect(allowed.length).toBeGreaterThan(0);
      for (const x of allowed) expect(x.reason).toContain('size x 0.5 (DAILY_LOSS_SOFT)');
      // Automatic resume the next session: nothing of 2015-08-24's ladder carries over.
      const next = day(r, '2015-08-25');
      expect(fired(next, 'DAILY_LOSS_SOFT') ?? fired(next, 'DAILY_LOSS_LIMIT')).toBeUndefined();
      expect(next.risk!.dayLock).toBeNull();
    });
  });

  describe('2018-02-05 (Volmageddon), tight drawdown limits: flatten, HALTED until re-armed', () => {
    // Tightened so the real January-February 2018 moves reach the rungs; the regime filter is off
    // because the bundled SPY ends 2017-12-29 (it would refuse every entry as stale).
    const overrides = {
      regimeFilter: false,
      drawdownReduceFraction: 0.01,
      drawdownHaltFraction: 0.02,
      dailyLossSoftFraction: 0.005,
      dailyLossHardFraction: 0.01,
    };
    const limits = parseStrategyConfig(overrides);
    const stateDir = mkdtempSync(join(tmpdir(), 'tp-feb18-'));
    let r: RangeReport;
    let halted: RangeReport;
    let rearmed: RangeReport;
    beforeAll(async () => {
      r = await replay(['2018-01-22', '2018-01-23', '2018-01-24', '2018-01-25', '2018-01-26', '2018-01-29', '2018-01-30', '2018-01-31', '2018-02-01', '2018-02-02', '2018-02-05'], overrides, stateDir);
      halted = await replay(['2018-02-06'], overrides, stateDir, 'HALTED');
      rearmed = await replay(['2018-02-07'], overrides, stateDir, 'ARMED');
    });

    it('the ladders fire as specified on every day', () => expectLaddersAsSpecified(r, limits));

    it('MAX_DRAWDOWN flattens every position (cancels first) and latches HALTED through 2018-02-05', () => {
      const flattenDay = r.days.find((d) => d.risk?.flatten)!;
      expect(flattenDay, 'a flatten happened').toBeDefined();
      expect(flattenDay.risk!.flatten!.cause).toMatch(/^MAX_DRAWDOWN: equity [\d,.]+ USD is 2\.\d\d% below the high-water mark [\d,.]+ USD \(limit 2\.0%\)/);
      expect(flattenDay.risk!.flatten!.exits.length).toBeGreaterThan(0);
      expect(flattenDay.risk!.flatten!.exits.every((e) => e.outcome === 'submitted')).toBe(true);
      expect(flattenDay.risk!.flatten!.cancels).toBeGreaterThanOrEqual(flattenDay.risk!.flatten!.exits.length);
      expect(flattenDay.positions).toEqual([]);
      expect(flattenDay.orders.filter((o) => o.purpose === 'flatten').every((o) => o.type === 'market' && o.side === 'sell' && o.status === 'filled')).toBe(true);
      expect(flattenDay.alerts.some((a) => a.severity === 'CRITICAL' && a.type === 'MAX_DRAWDOWN')).toBe(true);
      expect(flattenDay.reconciliation.matched).toBe(true);
      // HALTED until a person re-arms: every later session of the range, 2018-02-05 included.
      for (const d of r.days.filter((x) => x.tradingDate > flattenDay.tradingDate)) {
        expect(d.tradingState, d.tradingDate).toBe('HALTED');
        expect(d.tradingStateCause).toMatch(/^MAX_DRAWDOWN: /);
        const entries = d.decisions.filter((x) => x.kind === 'entry');
        expect(entries.every((x) => !x.allowed && x.rule === 'TRADING_HALTED' && /MAX_DRAWDOWN/.test(x.reason))).toBe(true);
      }
      expect(day(r, '2018-02-05').tradingState).toBe('HALTED');
      expect(day(halted, '2018-02-06').tradingState).toBe('HALTED');
    });

    it('re-arming clears the halt, resets the high-water mark, and the 1-hour cooling-off holds entries that day', () => {
      const d = rearmed.days[0]!;
      expect(d.alerts.some((a) => a.type === 'TRADING_RESUMED')).toBe(true);
      expect(fired(d, 'MAX_DRAWDOWN')).toBeUndefined();
      expect(d.risk!.metrics!.drawdownFraction).toBeGreaterThan(-limits.drawdownReduceFraction);
      const entries = d.decisions.filter((x) => x.kind === 'entry');
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.every((x) => !x.allowed && x.rule === 'COOLING_OFF')).toBe(true);
      expect(entries[0]!.reason).toMatch(/^COOLING_OFF: kill switch changed at 2018-02-07T14:45:00\.000Z; no automatic entry for 60 min \(until 2018-02-07T15:45:00\.000Z\)$/);
    });
  });
});
