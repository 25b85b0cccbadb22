/**
 * Alert de-duplication in front of any AlertPort (SNS, local sink), as the trading spec says:
 * "Alerts are deduplicated per (severity, type) with a cooldown, default 300 s. A CRITICAL alert is
 * never suppressed the first time in a run." The rule itself is `core/alert-policy`; an
 * {@link AlertLog} (DynamoDB across Lambdas, or {@link MemoryAlertLog} in one process) remembers
 * the last send per key and hands out the right to send atomically.
 *
 * Failure stance: if the log fails the alert is sent anyway (fail open: a duplicate page beats a
 * missed one); if delivery fails the claim is released so the next attempt is not silenced.
 */
import {
  alertKey,
  decideAlert,
  DEFAULT_ALERT_COOLDOWN_SECONDS,
  recordAlertDecision,
  releaseAlertClaim,
  suppressionReport,
  type AlertIdentity,
  type AlertLogEntry,
} from '../../core/alert-policy';
import type { Alert, AlertPort } from '../../ports';

/** The outcome of {@link AlertLog.claim}. */
export interface AlertClaim {
  /** True: the caller holds the right to send this alert (the log already recorded the send). */
  send: boolean;
  /** The policy's reason (see decideAlert). */
  reason: string;
  /**
   * On a send: alerts of this key suppressed since the previous send, whose count the send resets
   * (0 when none). On a suppression: the running count including this alert.
   */
  suppressed: number;
  /** ISO-8601 UTC instant from which `suppressed` counts (the previous send); absent when `suppressed` is 0. */
  suppressedSince?: string;
  /**
   * Present on a send: undoes the claim (best effort) when delivery failed, restoring the previous
   * entry and keeping suppressions counted meanwhile. A no-op if another send was recorded since.
   * @throws errors of the underlying store.
   */
  release?: () => Promise<void>;
}

/** Per-(severity, type) memory of sends that atomically decides, with core/alert-policy, whether to send. */
export interface AlertLog {
  /**
   * Decides `alert` against its key's entry with decideAlert and records the outcome atomically
   * (a send replaces the entry and resets `suppressed`; a suppression increments it), so that of
   * concurrent claims of the same alert exactly the ones the policy allows get `send: true`.
   * @param now current time.
   * @param cooldownSeconds cooldown in seconds (≥ 0).
   * @throws errors of the underlying store; RangeError for a bad cooldown.
   */
  claim(alert: AlertIdentity, now: Date, cooldownSeconds: number): Promise<AlertClaim>;
}

interface MemorySlot {
  entry: AlertLogEntry;
  version: number;
  /** Version at which the current send was recorded. */
  sentVersion: number;
}

/**
 * In-process {@link AlertLog} (tests, local runs, or a single long-lived process). Claims are
 * atomic because each runs synchronously on the event loop.
 */
export class MemoryAlertLog implements AlertLog {
  private readonly slots = new Map<string, MemorySlot>();

  /** The stored entry of a key (`alertKey(severity, type)`), for inspection. */
  entry(key: string): AlertLogEntry | undefined {
    const slot = this.slots.get(key);
    return slot ? structuredClone(slot.entry) : undefined;
  }

  async claim(alert: AlertIdentity, now: Date, cooldownSeconds: number): Promise<AlertClaim> {
    const key = alertKey(alert.severity, alert.type);
    const before = this.slots.get(key);
    const previous = before ? structuredClone(before.entry) : undefined;
    const decision = decideAlert(alert, previous, now.getTime(), cooldownSeconds);
    const next = recordAlertDecision(alert, previous, decision, now.getTime());
    const version = (before?.version ?? 0) + 1;
    const slot: MemorySlot = { entry: next, version, sentVersion: decision.send ? version : (before?.sentVersion ?? 0) };
    this.slots.set(key, slot);
    const report = suppressionReport(previous, decision, next);
    const claim: AlertClaim = {
      send: decision.send,
      reason: decision.reason,
      suppressed: report.suppressed,
      ...(report.since !== undefined ? { suppressedSince: report.since } : {}),
    };
    if (decision.send) {
      claim.release = async () => {
        const current = this.slots.get(key);
        if (!current || current.sentVersion !== version) return; // another send since: nothing of ours to undo
        const restored = releaseAlertClaim(current.entry, previous);
        if (!restored) this.slots.delete(key);
        else this.slots.set(key, { entry: restored, version: current.version + 1, sentVersion: before?.sentVersion ?? 0 });
      };
    }
    return claim;
  }
}

/** Options of {@link DeduplicatingAlerts}. */
export interface DeduplicatingAlertsOptions {
  /** Cooldown per (severity, type), seconds ≥ 0. Default {@link DEFAULT_ALERT_COOLDOWN_SECONDS} (300). */
  cooldownSeconds?: number;
  /** Clock. Default the system clock. */
  now?: () => Date;
}

/**
 * An AlertPort that forwards an alert to `inner` only when the log grants it.
 *
 * A forwarded alert that closes a window of suppressions gets ` (N similar alerts suppressed since
 * <ISO>)` appended to its message and `details.suppressed = N`. When the log throws, the alert is
 * forwarded anyway with `details.dedupError` set (fail open). When `inner` throws, the claim is
 * released best effort and the error rethrown.
 */
export class DeduplicatingAlerts implements AlertPort {
  /** Alerts this instance suppressed. */
  suppressedCount = 0;
  /** Alerts this instance forwarded (including fail-open sends). */
  sentCount = 0;
  /** Times the log failed and the alert was sent without de-duplication. */
  logFailureCount = 0;

  private readonly cooldownSeconds: number;
  private readonly now: () => Date;

  /**
   * @throws RangeError when `cooldownSeconds` is negative or not finite.
   */
  constructor(
    private readonly inner: AlertPort,
    private readonly log: AlertLog,
    options: DeduplicatingAlertsOptions = {},
  ) {
    this.cooldownSeconds = options.cooldownSeconds ?? DEFAULT_ALERT_COOLDOWN_SECONDS;
    if (!Number.isFinite(this.cooldownSeconds) || this.cooldownSeconds < 0) {
      throw new RangeError(`cooldownSeconds must be a finite number >= 0, got ${this.cooldownSeconds}`);
    }
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Forwards `alert` unless the policy suppresses it (then resolves without sending).
   * @throws whatever `inner.publish` throws (after releasing the claim); never a log error.
   */
  async publish(alert: Alert): Promise<void> {
    let claim: AlertClaim;
    try {
      claim = await this.log.claim(alert, this.now(), this.cooldownSeconds);
    } catch (error) {
      this.logFailureCount += 1;
      await this.inner.publish({
        ...alert,
        details: { ...alert.details, dedupError: `alert log unavailable, sent without de-duplication: ${errorText(error)}` },
      });
      this.sentCount += 1;
      return;
    }
    if (!claim.send) {
      this.suppressedCount += 1;
      return;
    }
    const outgoing: Alert =
      claim.suppressed > 0
        ? {
            ...alert,
            message: `${alert.message} (${claim.suppressed} similar alerts suppressed since ${claim.suppressedSince ?? 'the last send'})`,
            details: { ...alert.details, suppressed: claim.suppressed },
          }
        : alert;
    try {
      await this.inner.publish(outgoing);
    } catch (error) {
      try {
        await claim.release?.();
      } catch {
        // best effort: the delivery error below is the one that matters
      }
      throw error;
    }
    this.sentCount += 1;
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
