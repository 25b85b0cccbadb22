/**
 * Flattening through the real state machine, paper broker and bundled data: the end-of-day flatten
 * (15:45 New York, inside the same execution) and the kill switch's `flatten` action (its own
 * execution). Both cancel every open order through cancel-and-verify first, then close every
 * position with market orders, and lock the day so it cannot reopen.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RangeReport } from '../../local/report';
import { runLocal } from '../../local/runner';
import { bundledRun } from '../support/local-run';

const options = bundledRun;

describe('end-of-day flatten (endOfDayFlatten: true)', { timeout: 300_000 }, () => {
  // Day 1 trades normally (positions held overnight under their stops); from day 2 the strategy
  // flattens at 15:45. (The paper broker fills a limit sent at 09:45 only when the session's bar is
  // played at the close, so the day's own entries are still open at 15:45 and get cancelled.)
  const stateDir = mkdtempSync(join(tmpdir(), 'tp-eod-'));
  let overnight: RangeReport;
  let r: RangeReport;
  beforeAll(async () => {
    overnight = await runLocal(options(['2016-06-20'], {}, stateDir));
    r = await runLocal(options(['2016-06-21', '2016-06-22'], { endOfDayFlatten: true }, stateDir));
  });

  it('at 15:45 cancels every open order (entries and stop legs) through cancel-and-verify, then closes every position: flat at the close', () => {
    const held = overnight.days[0]!.positions.map((p) => p.symbol).sort();
    expect(held.length).toBeGreaterThan(0);
    const d = r.days[0]!;
    expect(d.executionError).toBeNull();
    expect(d.orders.filter((o) => o.purpose === 'entry').length).toBeGreaterThan(0);
    const exits = d.orders.filter((o) => o.purpose === 'flatten');
    expect(exits.map((o) => o.symbol).sort()).toEqual(held);
    expect(exits.every((o) => o.type === 'market' && o.side === 'sell' && o.timeInForce === 'day' && o.status === 'filled')).toBe(true);
    expect(d.orders.filter((o) => o.purpose === 'entry').every((o) => o.status === 'canceled')).toBe(true);
    expect(d.positions).toEqual([]);
    expect(d.risk!.flatten!.cause).toBe('END_OF_DAY: flatten 15 min before the close');
    expect(d.risk!.flatten!.cancels).toBeGreaterThanOrEqual(held.length + d.orders.filter((o) => o.purpose === 'entry').length);
    expect(d.risk!.dayLock!.cause).toMatch(/^FLATTENED: END_OF_DAY/);
    expect(d.reconciliation.matched).toBe(true);
    expect(d.reconciliation.unprotected).toEqual([]);
    const exitDecisions = d.decisions.filter((x) => x.kind === 'exit');
    expect(exitDecisions.map((x) => x.symbol).sort()).toEqual(held);
    expect(exitDecisions.every((x) => x.allowed && x.rule === 'EXIT')).toBe(true);
    // The morning's decisions and the end-of-day exits are both in the risk-audit table.
    expect(d.risk!.audited).toBe(d.decisions.length);
    expect(d.decisions.filter((x) => x.kind === 'entry').length).toBeGreaterThan(0);
  });

  it('a flattened day does not stop the next day: it decides entries again, and flattens again at 15:45', () => {
    const next = r.days[1]!;
    expect(next.executionError).toBeNull();
    expect(next.decisions.some((x) => x.kind === 'entry' && x.allowed)).toBe(true);
    expect(next.risk!.dayLock!.cause).toMatch(/^FLATTENED: END_OF_DAY/);
    expect(next.positions).toEqual([]);
  });
});

describe('the kill switch flatten action (npm start -- --action flatten)', { timeout: 300_000 }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tp-flatten-'));
  let traded: RangeReport;
  let flat: RangeReport;
  let after: RangeReport;
  beforeAll(async () => {
    traded = await runLocal(options(['2016-06-20', '2016-06-21'], {}, stateDir));
    flat = await runLocal(options(['2016-06-22'], {}, stateDir, { action: 'flatten' }));
    after = await runLocal(options(['2016-06-23'], {}, stateDir));
  });

  it('cancels every open order through cancel-and-verify, closes every position, and decides no entry', () => {
    const held = traded.days[1]!.positions.map((p) => p.symbol).sort();
    expect(held.length).toBeGreaterThan(0);
    const d = flat.days[0]!;
    expect(d.executionError).toBeNull();
    expect(d.decisions.filter((x) => x.kind === 'entry')).toEqual([]);
    expect(d.decisions.map((x) => x.symbol).sort()).toEqual(held);
    expect(d.risk!.flatten!.cause).toMatch(/^FLATTEN_REQUESTED: /);
    expect(d.risk!.flatten!.cancels).toBeGreaterThanOrEqual(held.length); // at least every stop-loss leg
    expect(d.risk!.flatten!.exits.map((e) => e.outcome)).toEqual(held.map(() => 'submitted'));
    expect(d.positions).toEqual([]);
    expect(d.reconciliation.matched).toBe(true);
    expect(d.risk!.dayLock!.cause).toMatch(/^FLATTENED: FLATTEN_REQUESTED/);
    expect(d.alerts.some((a) => a.type === 'FLATTENED')).toBe(true);
  });

  it('the next session trades again from flat', () => {
    const d = after.days[0]!;
    expect(d.executionError).toBeNull();
    expect(d.decisions.some((x) => x.kind === 'entry' && x.allowed)).toBe(true);
  });
});
