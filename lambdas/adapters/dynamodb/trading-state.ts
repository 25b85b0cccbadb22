/**
 * Trading state in DynamoDB (table TradingState): the HALTED/ACTIVE latch and the per-session
 * account snapshots the risk check decides against.
 *
 *   pk = STRATEGY#<strategyId>, sk = TRADING_STATE   the latch, versioned
 *   pk = STRATEGY#<strategyId>, sk = SNAPSHOT#<date>  first snapshot of the session, write-once
 *   pk = STRATEGY#<strategyId>, sk = RUNLOCK#<date>#<slot>  the execution that owns a schedule slot
 *   pk = STRATEGY#<strategyId>, sk = DAYLOCK#<date>   entries locked for the rest of a session, write-once
 *   pk = STRATEGY#<strategyId>, sk = RISK_MEMORY      high-water mark and milestones (core/risk/kernel)
 *   pk = STRATEGY#<strategyId>, sk = EQUITY#<date>    end-of-session equity and cash, USD
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { INITIAL_TRADING_STATE, type PersistedTradingState } from '../../core/kill-switch';
import type { AccountSnapshot, DayLock, RiskMemory } from '../../core/risk/kernel';

/** End-of-session account values, USD decimal strings. */
export interface EquityPoint {
  /** Session date, YYYY-MM-DD. */
  date: string;
  equity: string;
  cash: string;
  /** ISO-8601 UTC when it was recorded. */
  at: string;
}
import { isConditionalCheckFailed } from './client';

export class DynamoTradingStateStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly strategyId: string,
  ) {}

  private get pk(): string {
    return `STRATEGY#${this.strategyId}`;
  }

  /** The latch (ACTIVE with an INITIAL cause when none was ever written). Strongly consistent. */
  async getLatch(): Promise<PersistedTradingState> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: this.pk, sk: 'TRADING_STATE' }, ConsistentRead: true }),
    );
    if (!out.Item) return INITIAL_TRADING_STATE;
    return { state: out.Item.state, cause: out.Item.cause, since: out.Item.since } as PersistedTradingState;
  }

  /**
   * Writes the latch. A latch is never weakened (HALTED → REDUCING/ACTIVE, REDUCING → ACTIVE)
   * unless `allowClear` (the re-arm path), so a concurrent run cannot silently undo a halt.
   */
  async setLatch(latch: PersistedTradingState, options: { allowClear?: boolean } = {}): Promise<void> {
    const weaker = latch.state === 'ACTIVE' ? ['HALTED', 'REDUCING'] : latch.state === 'REDUCING' ? ['HALTED'] : [];
    const guard = weaker.length > 0 && !options.allowClear;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: this.pk, sk: 'TRADING_STATE', ...latch },
          ...(guard
            ? {
                ConditionExpression: `attribute_not_exists(sk) OR NOT (#state IN (${weaker.map((_, i) => `:s${i}`).join(', ')}))`,
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: Object.fromEntries(weaker.map((w, i) => [`:s${i}`, w])),
              }
            : {}),
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return; // a halt is in place; leave it
      throw error;
    }
  }

  /**
   * Takes the run lock of one schedule slot of one session with a conditional put
   * (`attribute_not_exists(sk) OR runId = :me`): exactly one execution owns the slot, and the owner
   * may take it again (a retried step or a redriven execution keeps its runId).
   * @param slot schedule slot name, e.g. `open`.
   * @param now ISO-8601 UTC.
   * @returns whether `runId` holds the lock, and who does.
   */
  async acquireRunLock(tradingDate: string, slot: string, runId: string, now: string): Promise<{ acquired: boolean; heldBy: string; since: string }> {
    const sk = `RUNLOCK#${tradingDate}#${slot}`;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: this.pk, sk, runId, since: now },
          ConditionExpression: 'attribute_not_exists(sk) OR runId = :me',
          ExpressionAttributeValues: { ':me': runId },
        }),
      );
      return { acquired: true, heldBy: runId, since: now };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: this.pk, sk }, ConsistentRead: true }));
      if (!out.Item) throw new Error(`run lock ${sk} reported as taken but cannot be read`);
      return { acquired: false, heldBy: String(out.Item.runId), since: String(out.Item.since) };
    }
  }

  /** The holder of a session slot's run lock, if taken. */
  async getRunLock(tradingDate: string, slot: string): Promise<{ heldBy: string; since: string } | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: this.pk, sk: `RUNLOCK#${tradingDate}#${slot}` }, ConsistentRead: true }),
    );
    return out.Item ? { heldBy: String(out.Item.runId), since: String(out.Item.since) } : undefined;
  }

  /** The snapshot frozen for a session, if any. */
  async getSnapshot(tradingDate: string): Promise<AccountSnapshot | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: this.pk, sk: `SNAPSHOT#${tradingDate}` }, ConsistentRead: true }),
    );
    return out.Item ? (JSON.parse(out.Item.data as string) as AccountSnapshot) : undefined;
  }

  /**
   * Stores the session's snapshot unless one exists; returns whichever snapshot is stored
   * (the first writer wins, so every execution of a session decides against the same account).
   */
  async freezeSnapshot(tradingDate: string, snapshot: AccountSnapshot): Promise<{ snapshot: AccountSnapshot; frozenNow: boolean }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: this.pk, sk: `SNAPSHOT#${tradingDate}`, data: JSON.stringify(snapshot), asOf: snapshot.asOf },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return { snapshot, frozenNow: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.getSnapshot(tradingDate);
      if (!existing) throw new Error(`snapshot for ${tradingDate} reported as existing but cannot be read`);
      return { snapshot: existing, frozenNow: false };
    }
  }

  /** Today's day lock, if one was set. */
  async getDayLock(date: string): Promise<DayLock | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: this.pk, sk: `DAYLOCK#${date}` }, ConsistentRead: true }));
    return out.Item ? { date, cause: String(out.Item.cause), since: String(out.Item.since) } : undefined;
  }

  /** Locks a session's entries; the first lock of the day wins and is returned. */
  async setDayLock(lock: DayLock): Promise<DayLock> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: this.pk, sk: `DAYLOCK#${lock.date}`, cause: lock.cause, since: lock.since },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return lock;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.getDayLock(lock.date);
      if (!existing) throw new Error(`day lock ${lock.date} reported as existing but cannot be read`);
      return existing;
    }
  }

  /** The risk kernel's memory, or undefined for a new account. */
  async getRiskMemory(): Promise<RiskMemory | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: this.pk, sk: 'RISK_MEMORY' }, ConsistentRead: true }));
    return out.Item ? (JSON.parse(String(out.Item.data)) as RiskMemory) : undefined;
  }

  /** Stores the risk kernel's memory (last writer wins: every run computes it from the same inputs). */
  async putRiskMemory(memory: RiskMemory): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { pk: this.pk, sk: 'RISK_MEMORY', data: JSON.stringify(memory) } }));
  }

  /** Records (or overwrites) a session's end-of-session equity. */
  async putEquity(point: EquityPoint): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { pk: this.pk, sk: `EQUITY#${point.date}`, ...point } }));
  }

  /**
   * The latest `limit` end-of-session equity points dated strictly before `beforeDate`, oldest first.
   */
  async listEquity(beforeDate: string, limit: number): Promise<EquityPoint[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': this.pk, ':from': 'EQUITY#', ':to': `EQUITY#${beforeDate}` },
        ScanIndexForward: false,
        Limit: limit + 1,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? [])
      .filter((i) => String(i.date) < beforeDate)
      .slice(0, limit)
      .map((i) => ({ date: String(i.date), equity: String(i.equity), cash: String(i.cash), at: String(i.at) }))
      .reverse();
  }
}
