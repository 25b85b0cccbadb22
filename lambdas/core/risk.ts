/**
 * The risk check: decides, for every candidate entry, whether it may be placed and at what size.
 *
 * Pure. Every decision carries `allowed`, the `rule` that decided it and a `reason` of the form
 * `RULE_CODE: detail with values`. Each rule code below is a string literal that appears exactly
 * once in the rule that produces it, so a reason found in a report leads to its code in one search.
 *
 * Rules, in the order they are applied to each candidate (the first refusal wins):
 *   KILL_SWITCH              the kill switch must read ARMED (REDUCE_ONLY and HALTED refuse entries)
 *   TRADING_HALTED           the pipeline's own latch (e.g. set by a reconciliation mismatch)
 *   ONE_POSITION_PER_SYMBOL  no entry in a symbol already held or with an open buy order
 *   MAX_OPEN_POSITIONS       held + pending + already-allowed entries stay below the limit
 *   RISK_BUDGET              the risk budget must buy at least one share at the ATR stop distance
 *   MAX_POSITION_PCT         the position value cap must allow at least one share
 *   CASH_BUFFER              free cash above the buffer must pay for at least one share
 * An allowed decision has rule OK and a reason giving qty, prices, risk and the binding cap.
 */
import type { OrderSide, OrderType } from '../ports';
import type { StrategyConfig } from './config';
import {
  effectiveTradingState,
  type EffectiveTradingState,
  type KillSwitchStatus,
  type PersistedTradingState,
} from './kill-switch';
import { Dec, dec, formatPct, formatUsd } from './money';
import { planLongEntry, type EntryPlan } from './sizing';

/** Broker state the decisions are made against, frozen per session (see handlers/risk-check). */
export interface AccountSnapshot {
  /** ISO-8601 UTC when the snapshot was read from the broker. */
  asOf: string;
  /** USD. */
  cash: string;
  /** NAV, USD. */
  equity: string;
  positions: Array<{ symbol: string; qty: string; avgEntryPrice: string; lastPrice: string }>;
  /** Orders not in a terminal status. qty/filledQty in shares, limitPrice USD or null. */
  openOrders: Array<{
    clientOrderId: string;
    symbol: string;
    side: OrderSide;
    type: OrderType;
    qty: string;
    filledQty: string;
    limitPrice: string | null;
  }>;
}

/** A ranked symbol that the model would like to buy, with the features sizing needs. */
export interface Candidate {
  symbol: string;
  rank: number;
  score: number;
  /** Last close before the session, USD per share. */
  close: number;
  /** ATR(14, Wilder), USD per share. */
  atr14: number;
}

export const RISK_RULES = [
  'KILL_SWITCH',
  'TRADING_HALTED',
  'ONE_POSITION_PER_SYMBOL',
  'MAX_OPEN_POSITIONS',
  'RISK_BUDGET',
  'MAX_POSITION_PCT',
  'CASH_BUFFER',
  'OK',
] as const;
export type RiskRule = (typeof RISK_RULES)[number];

export interface RiskDecision {
  symbol: string;
  /** Alpaca position intent of the proposed order. */
  action: 'buy_to_open';
  allowed: boolean;
  rule: RiskRule;
  /** `RULE: detail`, e.g. `MAX_OPEN_POSITIONS: 10 held or pending >= limit 10`. */
  reason: string;
  rank: number;
  score: number;
  /** The sized entry, present whenever sizing ran (allowed, or refused by a sizing rule). */
  plan?: EntryPlan;
}

export interface RiskCheckInput {
  killSwitch: KillSwitchStatus;
  latch: PersistedTradingState;
  snapshot: AccountSnapshot;
  /** Best first. */
  candidates: readonly Candidate[];
  config: StrategyConfig;
}

export interface RiskCheckResult {
  tradingState: EffectiveTradingState;
  decisions: RiskDecision[];
  /** Cash already committed to open buy orders at the start, USD. */
  reservedCash: string;
}

/**
 * Decides every candidate, in rank order, against the limits in `config`.
 * Later candidates see the slots and cash taken by earlier allowed ones.
 */
export function decideEntries(input: RiskCheckInput): RiskCheckResult {
  const { killSwitch, latch, snapshot, candidates, config } = input;
  const tradingState = effectiveTradingState(killSwitch, latch);
  const equity = dec(snapshot.equity, 'snapshot.equity');

  const held = new Map<string, Dec>();
  for (const p of snapshot.positions) {
    const qty = dec(p.qty, `positions.${p.symbol}.qty`);
    if (!qty.isZero()) held.set(p.symbol, qty);
  }
  const referencePrice = new Map<string, Dec>();
  for (const p of snapshot.positions) referencePrice.set(p.symbol, dec(p.lastPrice));
  for (const c of candidates) referencePrice.set(c.symbol, dec(c.close));

  const pendingBuys = new Set<string>();
  let reserved = new Dec(0);
  for (const o of snapshot.openOrders) {
    if (o.side !== 'buy') continue;
    pendingBuys.add(o.symbol);
    const remaining = dec(o.qty).minus(dec(o.filledQty));
    // Market buys have no limit: reserve at the latest known price of the symbol (0 if unknown).
    const price = o.limitPrice !== null ? dec(o.limitPrice) : (referencePrice.get(o.symbol) ?? new Dec(0));
    reserved = reserved.plus(Dec.max(0, remaining).times(price));
  }

  const occupied = new Set<string>([...held.keys(), ...pendingBuys]);
  let freeCash = dec(snapshot.cash, 'snapshot.cash').minus(reserved);
  const decisions: RiskDecision[] = [];

  for (const c of candidates) {
    const base = { symbol: c.symbol, action: 'buy_to_open' as const, rank: c.rank, score: c.score };
    const refuse = (rule: RiskRule, reason: string, plan?: EntryPlan): void => {
      decisions.push({ ...base, allowed: false, rule, reason, ...(plan ? { plan } : {}) });
    };

    if (killSwitch.state !== 'ARMED') {
      refuse('KILL_SWITCH', `KILL_SWITCH: ${killSwitch.reason}; new entries need ARMED`);
      continue;
    }
    if (latch.state !== 'ACTIVE') {
      // HALTED blocks every entry; REDUCING blocks anything that adds exposure, which every entry does.
      const what = latch.state === 'HALTED' ? '' : 'latch REDUCING (exits only): ';
      refuse('TRADING_HALTED', `TRADING_HALTED: ${what}${latch.cause} (since ${latch.since}); re-arm the kill switch to resume`);
      continue;
    }
    if (held.has(c.symbol)) {
      refuse('ONE_POSITION_PER_SYMBOL', `ONE_POSITION_PER_SYMBOL: ${c.symbol} already held (${held.get(c.symbol)!.toString()} sh)`);
      continue;
    }
    if (pendingBuys.has(c.symbol)) {
      refuse('ONE_POSITION_PER_SYMBOL', `ONE_POSITION_PER_SYMBOL: ${c.symbol} already has an open buy order`);
      continue;
    }
    if (occupied.size >= config.maxOpenPositions) {
      refuse('MAX_OPEN_POSITIONS', `MAX_OPEN_POSITIONS: ${occupied.size} held or pending >= limit ${config.maxOpenPositions}`);
      continue;
    }

    const plan = planLongEntry({ lastClose: c.close, atr: c.atr14, equity, freeCash, limits: config });
    if (plan.qtyByRisk < 1) {
      refuse(
        'RISK_BUDGET',
        `RISK_BUDGET: risk budget ${formatUsd(plan.riskBudget)} USD (${formatPct(config.riskPerTrade)} NAV) < risk per share ${formatUsd(plan.riskPerShare)} USD (${config.atrStopMultiple} x ATR stop)`,
        plan,
      );
      continue;
    }
    if (plan.qtyByPositionLimit < 1) {
      refuse(
        'MAX_POSITION_PCT',
        `MAX_POSITION_PCT: ${formatPct(config.maxPositionFraction, 1)} NAV (${formatUsd(plan.maxPositionValue)} USD) buys < 1 share at ${plan.limitPrice}`,
        plan,
      );
      continue;
    }
    if (plan.qtyByCash < 1) {
      refuse(
        'CASH_BUFFER',
        `CASH_BUFFER: ${formatUsd(plan.cashAvailable)} USD free after the ${formatPct(config.cashBufferFraction, 1)} NAV cash buffer buys < 1 share at ${plan.limitPrice}`,
        plan,
      );
      continue;
    }

    const capped =
      plan.bindingLimit === 'RISK_PER_TRADE'
        ? ''
        : plan.bindingLimit === 'MAX_POSITION_PCT'
          ? ` (capped by MAX_POSITION_PCT ${formatPct(config.maxPositionFraction, 1)} NAV)`
          : ` (capped by CASH_BUFFER ${formatPct(config.cashBufferFraction, 1)} NAV)`;
    decisions.push({
      ...base,
      allowed: true,
      rule: 'OK',
      reason: `OK: buy ${plan.qty} ${c.symbol} limit ${plan.limitPrice} stop ${plan.stopLossPrice}; risk ${formatUsd(plan.riskAmount)} USD = ${formatPct(dec(plan.riskAmount).div(equity))} NAV, value ${formatPct(dec(plan.notional).div(equity))} NAV${capped}`,
      plan,
    });
    occupied.add(c.symbol);
    freeCash = freeCash.minus(plan.notional);
  }

  return { tradingState, decisions, reservedCash: reserved.toString() };
}
