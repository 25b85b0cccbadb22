import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alertKey,
  decideAlert,
  DEFAULT_ALERT_COOLDOWN_SECONDS,
  MAX_CRITICAL_RUN_IDS,
  NEVER_SENT_AT,
  recordAlertDecision,
  releaseAlertClaim,
  suppressionReport,
  type AlertIdentity,
  type AlertLogEntry,
} from '../../../lambdas/core/alert-policy';

const T0 = Date.parse('2018-02-07T14:00:00.000Z');
const COOLDOWN = 300;

/** Runs a sequence of alerts at the given times through decide + record, like a log would. */
function replay(events: Array<{ alert: AlertIdentity; atMs: number }>, cooldownSeconds = COOLDOWN): boolean[] {
  const log = new Map<string, AlertLogEntry>();
  return events.map(({ alert, atMs }) => {
    const key = alertKey(alert.severity, alert.type);
    const decision = decideAlert(alert, log.get(key), atMs, cooldownSeconds);
    log.set(key, recordAlertDecision(alert, log.get(key), decision, atMs));
    return decision.send;
  });
}

describe('alertKey', () => {
  it('is severity#type and distinguishes severities of the same type', () => {
    expect(alertKey('HIGH', 'SLIPPAGE')).toBe('HIGH#SLIPPAGE');
    expect(alertKey('HIGH', 'SLIPPAGE')).not.toBe(alertKey('MEDIUM', 'SLIPPAGE'));
  });
});

describe('decideAlert: cooldown', () => {
  const high: AlertIdentity = { severity: 'HIGH', type: 'FILL_RATE_LOW' };
  const sentAtT0: AlertLogEntry = { lastSentAt: new Date(T0).toISOString(), suppressed: 0 };

  it('the default cooldown is 300 s', () => {
    expect(DEFAULT_ALERT_COOLDOWN_SECONDS).toBe(300);
  });

  it('sends when there is no entry', () => {
    expect(decideAlert(high, undefined, T0, COOLDOWN)).toMatchObject({ send: true });
  });

  it('sends exactly at the cooldown and suppresses 1 ms before it', () => {
    expect(decideAlert(high, sentAtT0, T0 + COOLDOWN * 1000, COOLDOWN).send).toBe(true);
    const early = decideAlert(high, sentAtT0, T0 + COOLDOWN * 1000 - 1, COOLDOWN);
    expect(early.send).toBe(false);
    expect(early.reason).toContain('HIGH#FILL_RATE_LOW');
    expect(early.reason).toContain(sentAtT0.lastSentAt);
  });

  it('a non-CRITICAL alert of a new run is still suppressed inside the cooldown', () => {
    const entry = { ...sentAtT0, lastRunId: 'run-1' };
    expect(decideAlert({ ...high, runId: 'run-2' }, entry, T0 + 1000, COOLDOWN).send).toBe(false);
  });

  it('a lastSentAt in the future (clock skew) counts as inside the cooldown', () => {
    expect(decideAlert(high, sentAtT0, T0 - 60_000, COOLDOWN).send).toBe(false);
  });

  it('an unreadable lastSentAt sends (fail open)', () => {
    const decision = decideAlert(high, { lastSentAt: 'yesterday', suppressed: 3 }, T0, COOLDOWN);
    expect(decision.send).toBe(true);
    expect(decision.reason).toContain('yesterday');
  });

  it('a cooldown of 0 sends everything', () => {
    expect(decideAlert(high, sentAtT0, T0, 0).send).toBe(true);
  });

  it('rejects a negative or non-finite cooldown and a non-finite now', () => {
    expect(() => decideAlert(high, sentAtT0, T0, -1)).toThrow(RangeError);
    expect(() => decideAlert(high, sentAtT0, T0, Number.NaN)).toThrow(RangeError);
    expect(() => decideAlert(high, sentAtT0, Number.NaN, COOLDOWN)).toThrow(RangeError);
  });
});

describe('decideAlert: CRITICAL is never suppressed the first time in a run', () => {
  const crit = (runId?: string): AlertIdentity => ({ severity: 'CRITICAL', type: 'RECONCILIATION_MISMATCH', ...(runId ? { runId } : {}) });

  it('first in a new run sends inside the cooldown; the second in the same run is suppressed', () => {
    const sends = replay([
      { alert: crit('run-1'), atMs: T0 },
      { alert: crit('run-1'), atMs: T0 + 10_000 },
      { alert: crit('run-2'), atMs: T0 + 20_000 },
      { alert: crit('run-2'), atMs: T0 + 30_000 },
      { alert: crit('run-1'), atMs: T0 + 40_000 },
    ]);
    expect(sends).toEqual([true, false, true, false, false]);
  });

  it('a CRITICAL without runId follows the plain cooldown', () => {
    expect(replay([{ alert: crit('run-1'), atMs: T0 }, { alert: crit(), atMs: T0 + 1000 }, { alert: crit(), atMs: T0 + 300_000 }])).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('a run that sent before a cooldown-elapsed send by another run is still remembered', () => {
    const sends = replay([
      { alert: crit('run-1'), atMs: T0 },
      { alert: crit('run-2'), atMs: T0 + 400_000 }, // cooldown elapsed
      { alert: crit('run-1'), atMs: T0 + 410_000 }, // run-1 already sent this key
    ]);
    expect(sends).toEqual([true, true, false]);
  });

  it('remembers at most MAX_CRITICAL_RUN_IDS runs, most recent kept', () => {
    let entry: AlertLogEntry | undefined;
    for (let i = 0; i <= MAX_CRITICAL_RUN_IDS; i += 1) {
      const alert = crit(`run-${i}`);
      entry = recordAlertDecision(alert, entry, decideAlert(alert, entry, T0 + i, COOLDOWN), T0 + i);
    }
    expect(entry?.criticalRunIds).toHaveLength(MAX_CRITICAL_RUN_IDS);
    expect(entry?.criticalRunIds?.[0]).toBe('run-1');
    expect(entry?.criticalRunIds?.at(-1)).toBe(`run-${MAX_CRITICAL_RUN_IDS}`);
  });
});

describe('per (severity, type) independence', () => {
  it('different types, and the same type at different severities, do not suppress each other', () => {
    const sends = replay([
      { alert: { severity: 'MEDIUM', type: 'ORDER_REJECTED' }, atMs: T0 },
      { alert: { severity: 'MEDIUM', type: 'RATE_LIMITED' }, atMs: T0 + 1 },
      { alert: { severity: 'HIGH', type: 'ORDER_REJECTED' }, atMs: T0 + 2 },
      { alert: { severity: 'MEDIUM', type: 'ORDER_REJECTED' }, atMs: T0 + 3 },
    ]);
    expect(sends).toEqual([true, true, true, false]);
  });

  it('property: within one key, sends are exactly those ≥ cooldown after the previous send', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 600_000 }), { minLength: 1, maxLength: 30 }), (gaps) => {
        let t = T0;
        const times = gaps.map((g) => (t += g));
        const sends = replay(times.map((atMs) => ({ alert: { severity: 'LOW', type: 'PARTIAL_FILL' }, atMs })));
        let lastSent: number | undefined;
        times.forEach((atMs, i) => {
          const expected = lastSent === undefined || atMs - lastSent >= COOLDOWN * 1000;
          expect(sends[i]).toBe(expected);
          if (expected) lastSent = atMs;
        });
      }),
    );
  });
});

describe('recordAlertDecision, suppressionReport, releaseAlertClaim', () => {
  const low: AlertIdentity = { severity: 'LOW', type: 'PARTIAL_FILL', runId: 'run-1' };

  it('a suppression increments the count; a send resets it and reports the closed window', () => {
    const first = recordAlertDecision(low, undefined, { send: true, reason: '' }, T0);
    expect(first).toEqual({ lastSentAt: '2018-02-07T14:00:00.000Z', lastRunId: 'run-1', suppressed: 0 });
    const s1 = recordAlertDecision(low, first, { send: false, reason: '' }, T0 + 1);
    const s2 = recordAlertDecision(low, s1, { send: false, reason: '' }, T0 + 2);
    expect(s2.suppressed).toBe(2);
    expect(suppressionReport(s1, { send: false, reason: '' }, s2)).toEqual({ suppressed: 2, since: first.lastSentAt });
    const sent = recordAlertDecision(low, s2, { send: true, reason: '' }, T0 + 300_000);
    expect(sent.suppressed).toBe(0);
    expect(suppressionReport(s2, { send: true, reason: '' }, sent)).toEqual({ suppressed: 2, since: first.lastSentAt });
    expect(suppressionReport(first, { send: true, reason: '' }, sent)).toEqual({ suppressed: 0 });
  });

  it('refuses to record a suppression without an entry', () => {
    expect(() => recordAlertDecision(low, undefined, { send: false, reason: '' }, T0)).toThrow(/without a log entry/);
  });

  it('release restores the previous entry and keeps suppressions counted meanwhile', () => {
    const previous: AlertLogEntry = { lastSentAt: '2018-02-07T13:00:00.000Z', suppressed: 1 };
    const current: AlertLogEntry = { lastSentAt: '2018-02-07T14:00:00.000Z', lastRunId: 'run-1', suppressed: 2 };
    expect(releaseAlertClaim(current, previous)).toEqual({ lastSentAt: '2018-02-07T13:00:00.000Z', suppressed: 3 });
  });

  it('release without a previous entry deletes it, or keeps the count with a lastSentAt that lets the next alert send', () => {
    const current: AlertLogEntry = { lastSentAt: '2018-02-07T14:00:00.000Z', suppressed: 0 };
    expect(releaseAlertClaim(current, undefined)).toBeUndefined();
    const restored = releaseAlertClaim({ ...current, suppressed: 2 }, undefined);
    expect(restored).toEqual({ lastSentAt: NEVER_SENT_AT, suppressed: 2, suppressedSince: '2018-02-07T14:00:00.000Z' });
    const decision = decideAlert(low, restored, T0 + 1000, COOLDOWN);
    expect(decision.send).toBe(true);
    expect(suppressionReport(restored, decision, recordAlertDecision(low, restored, decision, T0 + 1000))).toEqual({
      suppressed: 2,
      since: '2018-02-07T14:00:00.000Z',
    });
  });
});
