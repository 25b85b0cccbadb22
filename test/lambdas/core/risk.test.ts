import { describe, expect, it } from 'vitest';
import { parseStrategyConfig } from '../../../lambdas/core/config';
import { INITIAL_TRADING_STATE, interpretKillSwitch } from '../../../lambdas/core/kill-switch';
import { dec } from '../../../lambdas/core/money';
import { decideEntries, type AccountSnapshot, type Candidate, type RiskCheckInput } from '../../../lambdas/core/risk';

const config = parseStrategyConfig({});
const armed = interpretKillSwitch({ ok: true, value: 'ARMED' });
const flat: AccountSnapshot = { asOf: '2018-02-07T14:00:00.000Z', cash: '100000', equity: '100000', positions: [], openOrders: [] };
const candidate = (symbol: string, rank: number, close = 100, atr14 = 4.3): Candidate => ({ symbol, rank, score: 1 / rank, close, atr14 });
const input = (overrides: Partial<RiskCheckInput> = {}): RiskCheckInput => ({
  killSwitch: armed,
  latch: INITIAL_TRADING_STATE,
  snapshot: flat,
  candidates: [candidate('AAA', 1)],
  config,
  ...overrides,
});

describe('decideEntries: every candidate gets allowed + a reason', () => {
  it('allows a sized entry with a reason giving qty, prices and risk', () => {
    const [d] = decideEntries(input()).decisions;
    expect(d).toMatchObject({ symbol: 'AAA', action: 'buy_to_open', allowed: true, rule: 'OK' });
    expect(d!.reason).toBe('OK: buy 58 AAA limit 100.5 stop 91.9; risk 498.80 USD = 0.50% NAV, value 5.83% NAV');
    expect(d!.plan).toMatchObject({ qty: 58, limitPrice: '100.5', stopLossPrice: '91.9' });
  });

  it.each(['HALTED', 'REDUCE_ONLY'] as const)('KILL_SWITCH: %s refuses every entry', (value) => {
    const result = decideEntries(input({ killSwitch: interpretKillSwitch({ ok: true, value }), candidates: [candidate('AAA', 1), candidate('BBB', 2)] }));
    expect(result.decisions.every((d) => !d.allowed && d.rule === 'KILL_SWITCH')).toBe(true);
    expect(result.decisions[0]!.reason).toBe(`KILL_SWITCH: kill switch is ${value}; new entries need ARMED`);
  });

  it('KILL_SWITCH: an unreadable switch (failed closed) refuses every entry', () => {
    const [d] = decideEntries(input({ killSwitch: interpretKillSwitch({ ok: false, error: 'AccessDenied' }) })).decisions;
    expect(d).toMatchObject({ allowed: false, rule: 'KILL_SWITCH' });
    expect(d!.reason).toContain('AccessDenied');
  });

  it('TRADING_HALTED: the reconciliation latch refuses entries even when ARMED', () => {
    const latch = { state: 'HALTED' as const, cause: 'RECONCILIATION_MISMATCH: AAA ledger 10 vs broker 0', since: '2018-02-06T21:15:00.000Z' };
    const result = decideEntries(input({ latch }));
    expect(result.tradingState.state).toBe('HALTED');
    expect(result.decisions[0]).toMatchObject({ allowed: false, rule: 'TRADING_HALTED' });
    expect(result.decisions[0]!.reason).toMatch(/^TRADING_HALTED: RECONCILIATION_MISMATCH: AAA ledger 10 vs broker 0/);
  });

  it('ONE_POSITION_PER_SYMBOL: no entry in a symbol already held', () => {
    const snapshot = { ...flat, positions: [{ symbol: 'AAA', qty: '10', avgEntryPrice: '90', lastPrice: '100' }] };
    const [d] = decideEntries(input({ snapshot })).decisions;
    expect(d).toMatchObject({ allowed: false, rule: 'ONE_POSITION_PER_SYMBOL', reason: 'ONE_POSITION_PER_SYMBOL: AAA already held (10 sh)' });
  });

  it('ONE_POSITION_PER_SYMBOL: no entry in a symbol with an open buy order', () => {
    const snapshot: AccountSnapshot = {
      ...flat,
      openOrders: [{ clientOrderId: 'x', symbol: 'AAA', side: 'buy', type: 'limit', qty: '5', filledQty: '0', limitPrice: '100' }],
    };
    expect(decideEntries(input({ snapshot })).decisions[0]).toMatchObject({ allowed: false, rule: 'ONE_POSITION_PER_SYMBOL' });
  });

  it('MAX_OPEN_POSITIONS: held + pending + allowed-this-run never exceed the limit', () => {
    const positions = Array.from({ length: 8 }, (_, i) => ({ symbol: `H${i}`, qty: '1', avgEntryPrice: '10', lastPrice: '10' }));
    const snapshot: AccountSnapshot = {
      ...flat,
      positions,
      openOrders: [{ clientOrderId: 'p', symbol: 'PEND', side: 'buy', type: 'limit', qty: '1', filledQty: '0', limitPrice: '10' }],
    };
    const candidates = [candidate('AAA', 1), candidate('BBB', 2), candidate('CCC', 3)];
    const decisions = decideEntries(input({ snapshot, candidates })).decisions;
    expect(decisions.map((d) => d.allowed)).toEqual([true, false, false]);
    expect(decisions[1]!.reason).toBe('MAX_OPEN_POSITIONS: 10 held or pending >= limit 10');
  });

  it('RISK_BUDGET: refuses when the budget cannot buy one share at the stop distance', () => {
    // risk/share ~ 2 x 400 = 800 > 500 budget
    const [d] = decideEntries(input({ candidates: [candidate('AAA', 1, 2000, 400)] })).decisions;
    expect(d).toMatchObject({ allowed: false, rule: 'RISK_BUDGET' });
    expect(d!.reason).toMatch(/^RISK_BUDGET: risk budget 500\.00 USD \(0\.50% NAV\) < risk per share 800\.\d\d USD \(2 x ATR stop\)$/);
  });

  it('MAX_POSITION_PCT: refuses when 10% of NAV buys less than one share', () => {
    // small account: 10% of 5,000 = 500 < one share at 1,005
    const snapshot = { ...flat, cash: '5000', equity: '5000' };
    const [d] = decideEntries(input({ snapshot, candidates: [candidate('AAA', 1, 1000, 1)] })).decisions;
    expect(d).toMatchObject({ allowed: false, rule: 'MAX_POSITION_PCT' });
    expect(d!.reason).toBe('MAX_POSITION_PCT: 10.0% NAV (500.00 USD) buys < 1 share at 1005');
  });

  it('MAX_POSITION_PCT: caps the size and says so', () => {
    const [d] = decideEntries(input({ candidates: [candidate('AAA', 1, 100, 0.1)] })).decisions;
    expect(d!.allowed).toBe(true);
    expect(d!.plan!.qty).toBe(99);
    expect(d!.reason).toContain('(capped by MAX_POSITION_PCT 10.0% NAV)');
    expect(dec(d!.plan!.notional).lte(10_000)).toBe(true);
  });

  it('CASH_BUFFER: cash reserved by open buy orders and the 3% buffer are off limits', () => {
    // cash 10,000; open buy reserves 6,000; buffer 3,000 of 100,000 NAV -> 1,000 free: 9 shares at 100.50
    const snapshot: AccountSnapshot = {
      ...flat,
      cash: '10000',
      openOrders: [{ clientOrderId: 'p', symbol: 'ZZZ', side: 'buy', type: 'limit', qty: '60', filledQty: '0', limitPrice: '100' }],
    };
    const result = decideEntries(input({ snapshot }));
    expect(result.reservedCash).toBe('6000');
    expect(result.decisions[0]).toMatchObject({ allowed: true });
    expect(result.decisions[0]!.plan!.qty).toBe(9);
    expect(result.decisions[0]!.reason).toContain('capped by CASH_BUFFER');
  });

  it('CASH_BUFFER: refuses when nothing is free above the buffer', () => {
    const snapshot = { ...flat, cash: '3000' };
    const [d] = decideEntries(input({ snapshot })).decisions;
    expect(d).toMatchObject({ allowed: false, rule: 'CASH_BUFFER' });
    expect(d!.reason).toBe('CASH_BUFFER: 0.00 USD free after the 3.0% NAV cash buffer buys < 1 share at 100.5');
  });

  it('later candidates see the cash taken by earlier allowed ones', () => {
    // 20,000 cash, 3,000 buffer -> 17,000 spendable: two full entries of 5,829, the third is
    // capped to what is left (53 shares = 5,326.50), the fourth finds 15.50 USD and is refused.
    const snapshot = { ...flat, cash: '20000' };
    const candidates = [1, 2, 3, 4].map((r) => candidate(`S${r}`, r));
    const decisions = decideEntries(input({ snapshot, candidates })).decisions;
    const spent = decisions.filter((d) => d.allowed).reduce((sum, d) => sum.plus(d.plan!.notional), dec(0));
    expect(spent.lte(20000 - 3000)).toBe(true);
    expect(decisions.map((d) => d.plan?.qty)).toEqual([58, 58, 53, 0]);
    expect(decisions[2]!.reason).toContain('capped by CASH_BUFFER');
    expect(decisions[3]).toMatchObject({ allowed: false, rule: 'CASH_BUFFER' });
  });

  it('every reason starts with its rule code (one search finds the rule)', () => {
    const snapshot = { ...flat, cash: '3000' };
    const all = [
      ...decideEntries(input({ killSwitch: interpretKillSwitch({ ok: true, value: 'HALTED' }) })).decisions,
      ...decideEntries(input({ snapshot })).decisions,
      ...decideEntries(input()).decisions,
    ];
    for (const d of all) expect(d.reason.startsWith(`${d.rule}:`)).toBe(true);
  });
});
