import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec } from '../../../lambdas/core/money';
import { planLongEntry, type SizingLimits } from '../../../lambdas/core/sizing';

const limits: SizingLimits = {
  riskPerTrade: 0.005,
  atrStopMultiple: 2,
  entryLimitBps: 50,
  maxPositionFraction: 0.1,
  cashBufferFraction: 0.03,
};

describe('planLongEntry: qty = floor(equity x riskPerTrade / (entry - stop)), capped by the position limits', () => {
  it('computes entry, stop and quantity together from one risk fraction', () => {
    // entry = 100 x 1.005 = 100.50; stop = 100.50 - 2 x 4.3 = 91.90; risk/share 8.60
    // risk budget = 100,000 x 0.5% = 500 -> floor(500 / 8.6) = 58 shares (5,829 USD < 10% NAV)
    const plan = planLongEntry({ lastClose: 100, atr: 4.3, equity: '100000', freeCash: '100000', limits });
    expect(plan.limitPrice).toBe('100.5');
    expect(plan.stopLossPrice).toBe('91.9');
    expect(plan.riskPerShare).toBe('8.6');
    expect(plan.qtyByRisk).toBe(58);
    expect(plan.qty).toBe(58);
    expect(plan.bindingLimit).toBe('RISK_PER_TRADE');
    expect(plan.riskAmount).toBe('498.8');
    expect(plan.notional).toBe('5829');
  });

  it('rounds the entry and the stop DOWN to the tick, so the stop distance only widens', () => {
    // 123.456 x 1.005 = 124.07328 -> 124.07 ; 124.07 - 2 x 1.2345 = 121.601 -> 121.60
    const plan = planLongEntry({ lastClose: 123.456, atr: 1.2345, equity: '50000', freeCash: '50000', limits });
    expect(plan.limitPrice).toBe('124.07');
    expect(plan.stopLossPrice).toBe('121.6');
    expect(dec(plan.riskPerShare).gte(2 * 1.2345)).toBe(true);
  });

  it('uses the sub-penny tick below $1', () => {
    const plan = planLongEntry({ lastClose: 0.5, atr: 0.01, equity: '100000', freeCash: '100000', limits: { ...limits, entryLimitBps: 0 } });
    expect(plan.limitPrice).toBe('0.5');
    expect(plan.stopLossPrice).toBe('0.48');
  });

  it('caps by MAX_POSITION_PCT when the risk budget would buy more than 10% of NAV', () => {
    // tight stop: risk/share 0.20 -> 2,500 shares by risk; 10% of 100,000 at 100.50 -> 99 shares
    const plan = planLongEntry({ lastClose: 100, atr: 0.1, equity: '100000', freeCash: '100000', limits });
    expect(plan.qtyByRisk).toBeGreaterThan(plan.qtyByPositionLimit);
    expect(plan.qty).toBe(99);
    expect(plan.bindingLimit).toBe('MAX_POSITION_PCT');
  });

  it('caps by CASH_BUFFER: never spends the last 3% of NAV', () => {
    // free cash 5,000, buffer 3,000 -> 2,000 available at 100.50 -> 19 shares
    const plan = planLongEntry({ lastClose: 100, atr: 4.3, equity: '100000', freeCash: '5000', limits });
    expect(plan.cashAvailable).toBe('2000');
    expect(plan.qty).toBe(19);
    expect(plan.bindingLimit).toBe('CASH_BUFFER');
  });

  it('returns qty 0 when nothing is left above the buffer', () => {
    const plan = planLongEntry({ lastClose: 100, atr: 1.5, equity: '100000', freeCash: '2999', limits });
    expect(plan.qty).toBe(0);
    expect(plan.qtyByCash).toBe(0);
  });

  it('refuses a stop at or below zero and names the numbers', () => {
    expect(() => planLongEntry({ lastClose: 2, atr: 5, equity: '100000', freeCash: '100000', limits })).toThrow(/stop would be .* cannot place a stop at or below zero/);
  });

  it.each([
    ['lastClose', { lastClose: 0, atr: 1 }],
    ['lastClose', { lastClose: Number.NaN, atr: 1 }],
    ['atr', { lastClose: 10, atr: 0 }],
    ['atr', { lastClose: 10, atr: Number.POSITIVE_INFINITY }],
  ])('rejects a non-positive or non-finite %s', (field, input) => {
    expect(() => planLongEntry({ ...input, equity: '1000', freeCash: '1000', limits })).toThrow(new RegExp(`${field} must be > 0`));
  });

  it('property: risk never exceeds the budget, value never exceeds the position cap, spend never dips into the buffer', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 5000, noNaN: true }),
        fc.double({ min: 0.001, max: 0.2, noNaN: true }),
        fc.integer({ min: 1_000, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (close, atrFraction, equity, cashFraction) => {
          const atr = close * atrFraction;
          const freeCash = dec(equity).times(cashFraction).toFixed(2);
          let plan;
          try {
            plan = planLongEntry({ lastClose: close, atr, equity: String(equity), freeCash, limits });
          } catch {
            return; // stop at/below zero is refused, not sized
          }
          expect(Number.isInteger(plan.qty)).toBe(true);
          expect(plan.qty).toBeGreaterThanOrEqual(0);
          expect(dec(plan.riskAmount).lte(dec(equity).times(limits.riskPerTrade))).toBe(true);
          expect(dec(plan.notional).lte(dec(equity).times(limits.maxPositionFraction))).toBe(true);
          if (plan.qty > 0) {
            expect(dec(plan.notional).lte(dec(freeCash).minus(dec(equity).times(limits.cashBufferFraction)))).toBe(true);
          }
          expect(dec(plan.stopLossPrice).lt(plan.limitPrice)).toBe(true);
        },
      ),
    );
  });
});
