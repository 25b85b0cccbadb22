/**
 * Position sizing: entry price, stop-loss price and quantity computed together from one
 * risk-per-trade fraction of equity (fixed-fractional sizing, Van Tharp "Trade Your Way to
 * Financial Freedom", ch. 14; stop at k × ATR, Wilder 1978):
 *
 *   entry  = lastClose × (1 + entryLimitBps / 10 000), rounded DOWN to the tick
 *   stop   = entry − atrStopMultiple × ATR(14)   (stopMode 'atr', default)
 *          = entry × (1 − stopPercent)           (stopMode 'percent'),  rounded DOWN to the tick
 *   qty    = floor(equity × riskPerTrade × sizeMultiplier / (entry − stop))   (RISK_PER_TRADE)
 *   capped by floor((equity × maxPositionFraction − heldValue) / entry)       (MAX_POSITION_PCT)
 *   by floor((freeCash − equity × cashBufferFraction) / entry)               (CASH_BUFFER)
 *   and by each extra cap given in USD (max order notional, gross exposure and category room).
 *
 * Rounding the stop down widens the stop distance, so realised risk never exceeds the budget.
 * All money is decimal; equity and cash in USD, prices in USD per share, qty in whole shares.
 */
import { Dec, dec, roundToTick, type DecimalLike } from './money';

export interface SizingLimits {
  /** Fraction of equity at risk per trade, e.g. 0.005. */
  riskPerTrade: number;
  /** Stop distance in ATRs, e.g. 2. */
  atrStopMultiple: number;
  /** Limit above last close, bps, e.g. 50. */
  entryLimitBps: number;
  /** Max position value as a fraction of equity, e.g. 0.1. */
  maxPositionFraction: number;
  /** Cash that must stay free, as a fraction of equity, e.g. 0.03. */
  cashBufferFraction: number;
  /** `atr` (default): stop atrStopMultiple × ATR below the entry; `percent`: stopPercent below it. */
  stopMode?: 'atr' | 'percent';
  /** Stop distance as a fraction of the entry price, for stopMode `percent`, e.g. 0.05. */
  stopPercent?: number;
}

/** A further cap on the entry's notional, USD, with the rule code that names it in reasons. */
export interface NotionalCap {
  rule: string;
  /** USD the entry may still use (≤ 0 means not even one share). */
  room: DecimalLike;
}

export interface EntrySizingInput {
  /** Last close before the session, USD per share (> 0). */
  lastClose: number;
  /** ATR(14, Wilder) at that close, USD per share (> 0). */
  atr: number;
  /** Account equity (NAV), USD. */
  equity: DecimalLike;
  /** Cash not yet committed (cash minus open buy orders minus entries already planned this run), USD. */
  freeCash: DecimalLike;
  limits: SizingLimits;
  /** Product of the risk ladder's size reductions, in (0, 1]; default 1. Scales the risk budget only. */
  sizeMultiplier?: number;
  /** Value already held in the symbol, USD (counts against MAX_POSITION_PCT); default 0. */
  heldValue?: DecimalLike;
  /** Extra notional caps (e.g. MAX_ORDER_NOTIONAL, MAX_GROSS_EXPOSURE, CATEGORY_CONCENTRATION). */
  caps?: readonly NotionalCap[];
}

/** Which limit set the quantity: a built-in one or the rule of an extra {@link NotionalCap}. */
export type BindingLimit = 'RISK_PER_TRADE' | 'MAX_POSITION_PCT' | 'CASH_BUFFER' | (string & {});

export interface EntryPlan {
  /** Buy limit, USD per share (decimal string on tick). */
  limitPrice: string;
  /** Stop-loss trigger, USD per share (decimal string on tick). */
  stopLossPrice: string;
  /** Whole shares; 0 means the entry cannot be sized. */
  qty: number;
  qtyByRisk: number;
  qtyByPositionLimit: number;
  qtyByCash: number;
  /** Quantity each extra cap allows, by rule code. */
  qtyByCap: Record<string, number>;
  bindingLimit: BindingLimit;
  /** The size multiplier applied to the risk budget. */
  sizeMultiplier: number;
  /** equity × riskPerTrade × sizeMultiplier, USD. */
  riskBudget: string;
  /** entry − stop, USD per share. */
  riskPerShare: string;
  /** qty × riskPerShare, USD (≤ riskBudget). */
  riskAmount: string;
  /** qty × limitPrice, USD. */
  notional: string;
  /** equity × maxPositionFraction − heldValue, USD. */
  maxPositionValue: string;
  /** freeCash − equity × cashBufferFraction (floored at 0), USD. */
  cashAvailable: string;
}

/**
 * Sizes one long entry.
 * @throws Error naming the field when lastClose or atr is not a positive finite number, equity
 *   is not positive, or the stop would be at or below zero (ATR too large for the price).
 */
export function planLongEntry(input: EntrySizingInput): EntryPlan {
  const { lastClose, atr, limits } = input;
  if (!Number.isFinite(lastClose) || lastClose <= 0) throw new Error(`lastClose must be > 0, got ${lastClose}`);
  if (!Number.isFinite(atr) || atr <= 0) throw new Error(`atr must be > 0, got ${atr}`);
  const equity = dec(input.equity, 'equity');
  if (equity.lte(0)) throw new Error(`equity must be > 0, got ${equity.toString()}`);
  const freeCash = dec(input.freeCash, 'freeCash');

  const entry = roundToTick(dec(lastClose).times(dec(1).plus(dec(limits.entryLimitBps).div(10_000))), 'down');
  const sizeMultiplier = input.sizeMultiplier ?? 1;
  if (!(sizeMultiplier > 0 && sizeMultiplier <= 1)) throw new Error(`sizeMultiplier must be in (0, 1], got ${sizeMultiplier}`);
  const percentStop = limits.stopMode === 'percent';
  if (percentStop && !(limits.stopPercent !== undefined && limits.stopPercent > 0 && limits.stopPercent < 1)) {
    throw new Error(`stopPercent must be in (0, 1) with stopMode percent, got ${limits.stopPercent}`);
  }
  const rawStop = percentStop ? entry.times(dec(1).minus(limits.stopPercent!)) : entry.minus(dec(atr).times(limits.atrStopMultiple));
  if (rawStop.lte(0)) {
    throw new Error(`stop would be ${rawStop.toFixed(4)} (entry ${entry} - ${limits.atrStopMultiple} x ATR ${atr}); cannot place a stop at or below zero`);
  }
  const stop = roundToTick(rawStop, 'down');
  const riskPerShare = entry.minus(stop);

  const riskBudget = equity.times(limits.riskPerTrade).times(sizeMultiplier);
  const maxPositionValue = equity.times(limits.maxPositionFraction).minus(dec(input.heldValue ?? 0, 'heldValue'));
  const cashAvailable = Dec.max(0, freeCash.minus(equity.times(limits.cashBufferFraction)));

  const qtyByRisk = riskBudget.div(riskPerShare).floor().toNumber();
  const qtyByPositionLimit = Math.max(0, maxPositionValue.div(entry).floor().toNumber());
  const qtyByCash = cashAvailable.div(entry).floor().toNumber();

  let qty = qtyByRisk;
  let bindingLimit: BindingLimit = 'RISK_PER_TRADE';
  if (qtyByPositionLimit < qty) {
    qty = qtyByPositionLimit;
    bindingLimit = 'MAX_POSITION_PCT';
  }
  if (qtyByCash < qty) {
    qty = qtyByCash;
    bindingLimit = 'CASH_BUFFER';
  }
  const qtyByCap: Record<string, number> = {};
  for (const cap of input.caps ?? []) {
    const allowed = Math.max(0, dec(cap.room, `caps.${cap.rule}`).div(entry).floor().toNumber());
    qtyByCap[cap.rule] = allowed;
    if (allowed < qty) {
      qty = allowed;
      bindingLimit = cap.rule;
    }
  }
  qty = Math.max(0, qty);

  return {
    limitPrice: entry.toString(),
    stopLossPrice: stop.toString(),
    qty,
    qtyByRisk,
    qtyByPositionLimit,
    qtyByCash,
    qtyByCap,
    bindingLimit,
    sizeMultiplier,
    riskBudget: riskBudget.toString(),
    riskPerShare: riskPerShare.toString(),
    riskAmount: riskPerShare.times(qty).toString(),
    notional: entry.times(qty).toString(),
    maxPositionValue: maxPositionValue.toString(),
    cashAvailable: cashAvailable.toString(),
  };
}
