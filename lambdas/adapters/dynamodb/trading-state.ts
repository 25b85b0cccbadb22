/**
 * Trading state in DynamoDB (table TradingState): the HALTED/ACTIVE latch and the per-session
 * account snapshots the risk check decides against.
 *
 *   pk = STRATEGY#<strategyId>, sk = TRADING_STATE   the latch, versioned
 *   pk = STRATEGY#<strategyId>, sk = SNAPSHOT#<date>  first snapshot of the session, write-once
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { INITIAL_TRADING_STATE, type PersistedTradingState } from '../../core/kill-switch';
import type { AccountSnapshot } from '../../core/risk';
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
   * Writes the latch. A HALTED latch is never overwritten by ACTIVE unless `allowClear` (the
   * re-arm path), so a concurrent run cannot silently undo a halt.
   */
  async setLatch(latch: PersistedTradingState, options: { allowClear?: boolean } = {}): Promise<void> {
    const guard = latch.state === 'ACTIVE' && !options.allowClear;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: this.pk, sk: 'TRADING_STATE', ...latch },
          ...(guard ? { ConditionExpression: 'attribute_not_exists(sk) OR #state <> :halted', ExpressionAttributeNames: { '#state': 'state' }, ExpressionAttributeValues: { ':halted': 'HALTED' } } : {}),
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return; // a halt is in place; leave it
      throw error;
    }
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
}
