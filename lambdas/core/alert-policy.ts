/**
 * Alert de-duplication policy (pure). The trading spec: "Alerts are deduplicated per
 * (severity, type) with a cooldown, default 300 s. A CRITICAL alert is never suppressed the first
 * time in a run."
 *
 * The adapters keep one {@link AlertLogEntry} per {@link alertKey} and ask {@link decideAlert}
 * whether to send; {@link recordAlertDecision} and {@link releaseAlertClaim} compute the entry
 * they write back, so the rule is stated here once and every log (DynamoDB, in-memory) applies it
 * the same way. Time is passed in (epoch milliseconds); nothing here reads the clock.
 */
import type { Alert, AlertSeverity } from '../ports';

/** Cooldown per (severity, type) when none is configured, in seconds. */
export const DEFAULT_ALERT_COOLDOWN_SECONDS = 300;

/**
 * How many run ids an entry remembers as "has already sent this CRITICAL". Older runs are
 * forgotten (most recent kept), which can only make a very old run send once more, never less.
 */
export const MAX_CRITICAL_RUN_IDS = 50;

/** `lastSentAt` of an entry whose only send was released (undone) before any earlier send: the Unix epoch. */
export const NEVER_SENT_AT = '1970-01-01T00:00:00.000Z';

/** The part of an alert the policy looks at. `runId` absent: the plain cooldown applies. */
export type AlertIdentity = Pick<Alert, 'severity' | 'type' | 'runId'>;

/** What the log remembers about one (severity, type). */
export interface AlertLogEntry {
  /** ISO-8601 UTC instant of the last send of this key. */
  lastSentAt: string;
  /** runId of the alert last sent, when it had one. */
  lastRunId?: string;
  /**
   * CRITICAL keys only: the runs that have sent this key, oldest first, at most
   * {@link MAX_CRITICAL_RUN_IDS}. A CRITICAL whose run is not listed is sent even inside the cooldown.
   */
  criticalRunIds?: string[];
  /** Alerts of this key suppressed since the last send (reset to 0 by a send). */
  suppressed: number;
  /**
   * ISO-8601 UTC instant from which `suppressed` counts, when that is not `lastSentAt`
   * (only after a released claim that had no earlier send; see {@link releaseAlertClaim}).
   */
  suppressedSince?: string;
}

/** The policy's verdict: send or suppress, and a human reason (for logs and reports). */
export interface AlertDecision {
  send: boolean;
  reason: string;
}

/**
 * The de-duplication key of an alert: `<severity>#<type>`, e.g. `CRITICAL#RECONCILIATION_MISMATCH`.
 * Severity never contains `#`, so distinct (severity, type) pairs give distinct keys.
 */
export function alertKey(severity: AlertSeverity, type: string): string {
  return `${severity}#${type}`;
}

/**
 * Decides whether to send `alert` given the log entry of its key.
 *
 * Rules, in order: no entry → send; `nowMs − lastSentAt ≥ cooldown` → send (exactly at the
 * cooldown sends); a CRITICAL with a runId not in `criticalRunIds` → send (first time in that run,
 * even inside the cooldown); otherwise suppress. An unparseable `lastSentAt` sends (fail open).
 * A `lastSentAt` in the future (clock skew between writers) counts as inside the cooldown.
 *
 * @param nowMs current time, epoch milliseconds.
 * @param cooldownSeconds cooldown in seconds, finite and ≥ 0 (0 sends everything).
 * @throws RangeError when `nowMs` is not finite or `cooldownSeconds` is negative or not finite.
 */
export function decideAlert(alert: AlertIdentity, last: AlertLogEntry | undefined, nowMs: number, cooldownSeconds: number): AlertDecision {
  if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs must be a finite epoch-milliseconds value, got ${nowMs}`);
  if (!Number.isFinite(cooldownSeconds) || cooldownSeconds < 0) {
    throw new RangeError(`cooldownSeconds must be a finite number >= 0, got ${cooldownSeconds}`);
  }
  const key = alertKey(alert.severity, alert.type);
  if (!last) return { send: true, reason: `first ${key} alert` };
  const lastMs = Date.parse(last.lastSentAt);
  if (Number.isNaN(lastMs)) return { send: true, reason: `${key} log has an unreadable lastSentAt ${JSON.stringify(last.lastSentAt)}; sending` };
  const elapsedMs = nowMs - lastMs;
  if (elapsedMs >= cooldownSeconds * 1000) {
    return { send: true, reason: `${key} cooldown of ${cooldownSeconds} s elapsed (last sent ${last.lastSentAt})` };
  }
  if (alert.severity === 'CRITICAL' && alert.runId !== undefined && !(last.criticalRunIds ?? []).includes(alert.runId)) {
    return { send: true, reason: `first ${key} alert of run ${alert.runId} (CRITICAL is never suppressed the first time in a run)` };
  }
  return {
    send: false,
    reason: `${key} suppressed: last sent ${last.lastSentAt}, ${Math.round(elapsedMs / 1000)} s ago, inside the ${cooldownSeconds} s cooldown`,
  };
}

/**
 * The entry to store after applying `decision` (from {@link decideAlert}) to `alert` at `nowMs`.
 * Send: `lastSentAt` = now, `lastRunId` = the alert's runId, `suppressed` = 0, and for a CRITICAL
 * with a runId that run appended to `criticalRunIds` (kept to the last {@link MAX_CRITICAL_RUN_IDS}).
 * Suppress: the same entry with `suppressed` + 1.
 * @param nowMs epoch milliseconds.
 * @throws Error when asked to suppress without an entry (the policy always sends then).
 */
export function recordAlertDecision(alert: AlertIdentity, last: AlertLogEntry | undefined, decision: AlertDecision, nowMs: number): AlertLogEntry {
  if (!decision.send) {
    if (!last) throw new Error(`cannot record a suppression of ${alertKey(alert.severity, alert.type)} without a log entry`);
    return { ...last, suppressed: last.suppressed + 1 };
  }
  let criticalRunIds = last?.criticalRunIds;
  if (alert.severity === 'CRITICAL' && alert.runId !== undefined) {
    criticalRunIds = [...(criticalRunIds ?? []).filter((id) => id !== alert.runId), alert.runId].slice(-MAX_CRITICAL_RUN_IDS);
  }
  return {
    lastSentAt: new Date(nowMs).toISOString(),
    ...(alert.runId !== undefined ? { lastRunId: alert.runId } : {}),
    ...(criticalRunIds && criticalRunIds.length > 0 ? { criticalRunIds } : {}),
    suppressed: 0,
  };
}

/**
 * ISO-8601 UTC instant from which an entry's `suppressed` counts: `suppressedSince` when set,
 * else `lastSentAt`.
 */
export function suppressedSince(entry: AlertLogEntry): string {
  return entry.suppressedSince ?? entry.lastSentAt;
}

/**
 * Undoes a send claim whose delivery failed, so the next alert of the key is not silenced by a
 * send that never happened. `current` is the entry as stored now (the claim's entry, possibly with
 * suppressions counted since), `previous` the entry before the claim.
 *
 * @returns `previous` with the suppressions counted meanwhile added; when there was no previous
 *   entry: `undefined` (delete the entry) if nothing was suppressed meanwhile, else an entry with
 *   `lastSentAt` = {@link NEVER_SENT_AT} (so the next alert sends) whose suppressions count from
 *   `current.lastSentAt` (the failed claim).
 */
export function releaseAlertClaim(current: AlertLogEntry, previous: AlertLogEntry | undefined): AlertLogEntry | undefined {
  if (previous) return { ...previous, suppressed: previous.suppressed + current.suppressed };
  if (current.suppressed === 0) return undefined;
  return { lastSentAt: NEVER_SENT_AT, suppressed: current.suppressed, suppressedSince: current.lastSentAt };
}

/**
 * What a claim reports about suppressions, given the entry before it (`previous`), the decision
 * and the entry written (`next`): on a send, the count and start of the window the send closes
 * (`suppressed` 0 and no `since` when nothing was suppressed); on a suppression, the running count
 * including this alert.
 */
export function suppressionReport(
  previous: AlertLogEntry | undefined,
  decision: AlertDecision,
  next: AlertLogEntry,
): { suppressed: number; since?: string } {
  const source = decision.send ? previous : next;
  if (!source || source.suppressed === 0) return { suppressed: 0 };
  return { suppressed: source.suppressed, since: suppressedSince(source) };
}
