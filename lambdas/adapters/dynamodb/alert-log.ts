/**
 * Alert de-duplication log in DynamoDB (table TradingState), shared by every Lambda of a strategy:
 *
 *   pk = STRATEGY#<strategyId>, sk = ALERT#<severity>#<type>   one item per (severity, type), versioned
 *
 * Item: severity, type, lastSentAt (ISO UTC), lastRunId?, criticalRunIds? (list), suppressed
 * (number), suppressedSince?, version (number, bumped by every write), sentVersion (the version at
 * which the current send was recorded), updatedAt (ISO UTC).
 *
 * A claim reads the item, decides with core/alert-policy and writes the outcome conditionally on
 * the version it read; on a version conflict it re-reads and decides again, so two Lambdas
 * claiming the same alert at once cannot both send (the loser re-decides against the winner's
 * send and records a suppression instead).
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  alertKey,
  decideAlert,
  recordAlertDecision,
  releaseAlertClaim,
  suppressionReport,
  type AlertIdentity,
  type AlertLogEntry,
} from '../../core/alert-policy';
import type { AlertClaim, AlertLog } from '../alerts/deduplicating';
import { isConditionalCheckFailed } from './client';

/** Thrown by {@link DynamoAlertLog.claim} when every attempt to record a send lost a version race. */
export class AlertLogContentionError extends Error {
  constructor(
    readonly key: string,
    readonly attempts: number,
  ) {
    super(`alert log ${key}: ${attempts} conflicting concurrent writes; could not claim the send`);
    this.name = 'AlertLogContentionError';
  }
}

/** Options of {@link DynamoAlertLog}. */
export interface DynamoAlertLogOptions {
  /** Read-decide-write attempts per claim or release before giving up. Default 5, minimum 1. */
  maxAttempts?: number;
}

interface StoredItem {
  entry: AlertLogEntry;
  version: number;
  sentVersion: number;
}

/**
 * {@link AlertLog} over the TradingState table, one item per (severity, type) of one strategy.
 * Every read is strongly consistent; every write is conditional on the version read.
 */
export class DynamoAlertLog implements AlertLog {
  private readonly maxAttempts: number;

  /**
   * @param db document client (see createDocumentClient).
   * @param tableName physical name of the TradingState table.
   * @param strategyId partition of the strategy (`STRATEGY#<strategyId>`).
   */
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly strategyId: string,
    options: DynamoAlertLogOptions = {},
  ) {
    this.maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 5));
  }

  private get pk(): string {
    return `STRATEGY#${this.strategyId}`;
  }

  /** Sort key of a (severity, type): `ALERT#<severity>#<type>`. */
  static sortKey(alert: Pick<AlertIdentity, 'severity' | 'type'>): string {
    return `ALERT#${alertKey(alert.severity, alert.type)}`;
  }

  /** The stored entry of a (severity, type), strongly consistent; undefined when none. */
  async getEntry(alert: Pick<AlertIdentity, 'severity' | 'type'>): Promise<AlertLogEntry | undefined> {
    return (await this.read(DynamoAlertLog.sortKey(alert)))?.entry;
  }

  /**
   * See {@link AlertLog.claim}. Up to `maxAttempts` read-decide-write rounds, each write
   * conditional on the version read. If every round conflicts: a suppression is still recorded
   * (unconditional increment of `suppressed`) when the last decision was to suppress; when it was
   * to send, throws so the caller fails open and sends. (If the item vanished meanwhile, that
   * increment fails with ConditionalCheckFailedException, which likewise makes the caller send.)
   * @throws AlertLogContentionError as above; RangeError for a bad cooldown; DynamoDB errors.
   */
  async claim(alert: AlertIdentity, now: Date, cooldownSeconds: number): Promise<AlertClaim> {
    const sk = DynamoAlertLog.sortKey(alert);
    const nowMs = now.getTime();
    let lastDecisionWasSend = true;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt += 1) {
      const stored = await this.read(sk);
      const previous = stored?.entry;
      const decision = decideAlert(alert, previous, nowMs, cooldownSeconds);
      lastDecisionWasSend = decision.send;
      const next = recordAlertDecision(alert, previous, decision, nowMs);
      const version = (stored?.version ?? 0) + 1;
      const sentVersion = decision.send ? version : (stored?.sentVersion ?? 0);
      const written = await this.writeIfVersion(sk, alert, stored?.version, { entry: next, version, sentVersion }, now);
      if (!written) continue;
      const report = suppressionReport(previous, decision, next);
      return {
        send: decision.send,
        reason: decision.reason,
        suppressed: report.suppressed,
        ...(report.since !== undefined ? { suppressedSince: report.since } : {}),
        ...(decision.send ? { release: () => this.release(sk, alert, version, stored, now) } : {}),
      };
    }
    if (lastDecisionWasSend) throw new AlertLogContentionError(sk, this.maxAttempts);
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: this.pk, sk },
        UpdateExpression: 'ADD suppressed :one, #version :one',
        ConditionExpression: 'attribute_exists(sk)',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const entry = out.Attributes ? toStored(out.Attributes).entry : undefined;
    const suppressed = entry?.suppressed ?? 1;
    return {
      send: false,
      reason: `${alertKey(alert.severity, alert.type)} suppressed after ${this.maxAttempts} conflicting concurrent writes`,
      suppressed,
      ...(entry ? { suppressedSince: entry.suppressedSince ?? entry.lastSentAt } : {}),
    };
  }

  /** Undoes the send recorded at `claimedVersion` unless another send was recorded since (see releaseAlertClaim). */
  private async release(sk: string, alert: AlertIdentity, claimedVersion: number, before: StoredItem | undefined, now: Date): Promise<void> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt += 1) {
      const current = await this.read(sk);
      if (!current || current.sentVersion !== claimedVersion) return;
      const restored = releaseAlertClaim(current.entry, before?.entry);
      if (!restored) {
        try {
          await this.db.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: { pk: this.pk, sk },
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': current.version },
            }),
          );
          return;
        } catch (error) {
          if (isConditionalCheckFailed(error)) continue;
          throw error;
        }
      }
      const next: StoredItem = { entry: restored, version: current.version + 1, sentVersion: before?.sentVersion ?? 0 };
      if (await this.writeIfVersion(sk, alert, current.version, next, now)) return;
    }
    throw new AlertLogContentionError(sk, this.maxAttempts);
  }

  private async read(sk: string): Promise<StoredItem | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: this.pk, sk }, ConsistentRead: true }));
    return out.Item ? toStored(out.Item) : undefined;
  }

  /**
   * Puts `item` if the stored version is still `expectedVersion` (or, when undefined, no item exists).
   * @returns false on a conditional-check failure (someone else wrote first).
   */
  private async writeIfVersion(sk: string, alert: AlertIdentity, expectedVersion: number | undefined, item: StoredItem, now: Date): Promise<boolean> {
    const { entry } = item;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: this.pk,
            sk,
            severity: alert.severity,
            type: alert.type,
            lastSentAt: entry.lastSentAt,
            ...(entry.lastRunId !== undefined ? { lastRunId: entry.lastRunId } : {}),
            ...(entry.criticalRunIds && entry.criticalRunIds.length > 0 ? { criticalRunIds: entry.criticalRunIds } : {}),
            suppressed: entry.suppressed,
            ...(entry.suppressedSince !== undefined ? { suppressedSince: entry.suppressedSince } : {}),
            version: item.version,
            sentVersion: item.sentVersion,
            updatedAt: now.toISOString(),
          },
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(sk)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

/** Item → entry; tolerant of missing counters (treated as 0). */
function toStored(item: Record<string, unknown>): StoredItem {
  const runIds = Array.isArray(item.criticalRunIds) ? item.criticalRunIds.map(String) : undefined;
  const entry: AlertLogEntry = {
    lastSentAt: String(item.lastSentAt),
    ...(item.lastRunId !== undefined ? { lastRunId: String(item.lastRunId) } : {}),
    ...(runIds && runIds.length > 0 ? { criticalRunIds: runIds } : {}),
    suppressed: Number(item.suppressed ?? 0),
    ...(item.suppressedSince !== undefined ? { suppressedSince: String(item.suppressedSince) } : {}),
  };
  return { entry, version: Number(item.version ?? 0), sentVersion: Number(item.sentVersion ?? 0) };
}
