/**
 * The risk-audit trail in DynamoDB (table RiskAudit): one item per risk decision, written by the
 * risk check before any order is placed, plus one item per run with the trading state, the limits in
 * force and every account-level limit reading.
 *
 *   pk = STRATEGY#<strategyId>#<session date>
 *   sk = RUN#<runId>#<phase>#D#<nnn>   one decision (symbol, kind, allowed, rule, reason, qty)
 *   sk = RUN#<runId>#<phase>#STATE     trading state and cause, size multiplier, readings, limits, metrics
 *
 * `phase` is the risk check's action (`trade`, `flatten`, `end_of_day`): one execution may decide
 * twice (the morning entries and the end-of-day flatten), and each keeps its own records.
 *
 * Writes are idempotent: a retried risk check rewrites the same keys with the same content.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll, queryAllItems } from './client';
import type { EffectiveTradingState } from '../../core/kill-switch';
import type { LimitReading, RiskDecision, RiskMetrics } from '../../core/risk/kernel';

/** One decision as audited. */
export interface AuditedDecision {
  runId: string;
  /** The risk check's action: trade, flatten or end_of_day. */
  phase: string;
  tradingDate: string;
  /** ISO-8601 UTC of the decision. */
  at: string;
  seq: number;
  symbol: string;
  kind: RiskDecision['kind'];
  action: RiskDecision['action'];
  allowed: boolean;
  rule: RiskDecision['rule'];
  reason: string;
  /** Shares, when allowed. */
  qty: string | null;
  adjustedQty: string | null;
}

/** The account-level record of one run. */
export interface AuditedRunState {
  runId: string;
  /** The risk check's action: trade, flatten or end_of_day. */
  phase: string;
  tradingDate: string;
  at: string;
  tradingState: EffectiveTradingState;
  sizeMultiplier: number;
  readings: LimitReading[];
  metrics: RiskMetrics;
  /** The effective limits (the strategy config) in force for this run. */
  limits: Record<string, unknown>;
}

export class DynamoRiskAudit {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly strategyId: string,
  ) {}

  private pk(date: string): string {
    return `STRATEGY#${this.strategyId}#${date}`;
  }

  /** Writes a run's state record and every decision (25 items per BatchWriteItem, unprocessed retried). */
  async record(state: AuditedRunState, decisions: readonly AuditedDecision[]): Promise<void> {
    const items = [
      { pk: this.pk(state.tradingDate), sk: `RUN#${state.runId}#${state.phase}#STATE`, type: 'STATE', data: JSON.stringify(state) },
      ...decisions.map((d) => ({
        pk: this.pk(d.tradingDate),
        sk: `RUN#${d.runId}#${d.phase}#D#${String(d.seq).padStart(3, '0')}`,
        type: 'DECISION',
        ...d,
      })),
    ];
    await batchWriteAll(this.db, this.tableName, items.map((Item) => ({ PutRequest: { Item } })), 'RiskAudit');
  }

  /** Every audited decision and run state of one session, in key order. */
  async listSession(tradingDate: string): Promise<{ states: AuditedRunState[]; decisions: AuditedDecision[] }> {
    const states: AuditedRunState[] = [];
    const decisions: AuditedDecision[] = [];
    const items = await queryAllItems(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': this.pk(tradingDate) },
      ConsistentRead: true,
    });
    for (const item of items) {
      if (item.type === 'STATE') states.push(JSON.parse(String(item.data)) as AuditedRunState);
      else {
        const { pk: _pk, sk: _sk, type: _type, ...rest } = item;
        decisions.push(rest as unknown as AuditedDecision);
      }
    }
    return { states, decisions };
  }
}
