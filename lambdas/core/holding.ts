/**
 * Holding-period exits: a long position is closed once it has been held for the model's label
 * horizon, so what the strategy holds matches what the model predicted (the forward h-session
 * return). Without such an exit a position would be held until its stop-loss fills, and a backtest
 * would only ever close losing trades.
 *
 * Pure: no I/O, no clock.
 */
import type { LedgerFill } from './ledger';
import { Dec, dec } from './money';
import type { AccountSnapshot, ExitIntent } from './risk/kernel';

/**
 * The New York session date of the oldest still-open lot of each long, matching sells to buys FIFO
 * as `closedTrades` does (core/trades.ts). Symbols with no open lot are absent.
 * @param fills ledger fills in any order.
 * @returns symbol → `YYYY-MM-DD` of the oldest open lot's fill session.
 */
export function oldestOpenLotDates(fills: readonly LedgerFill[]): Record<string, string> {
  const bySymbol = new Map<string, LedgerFill[]>();
  for (const f of fills) {
    const list = bySymbol.get(f.symbol);
    if (list) list.push(f);
    else bySymbol.set(f.symbol, [f]);
  }
  const out: Record<string, string> = {};
  for (const [symbol, list] of bySymbol) {
    list.sort((a, b) => Date.parse(a.filledAt) - Date.parse(b.filledAt) || (a.clientOrderId < b.clientOrderId ? -1 : a.clientOrderId > b.clientOrderId ? 1 : 0));
    const lots: Array<{ qty: Dec; session: string }> = [];
    for (const f of list) {
      let qty = dec(f.qty);
      if (f.side === 'buy') {
        lots.push({ qty, session: f.sessionDate });
        continue;
      }
      while (qty.gt(0) && lots.length > 0) {
        const lot = lots[0]!;
        const take = Dec.min(lot.qty, qty);
        qty = qty.minus(take);
        if (take.eq(lot.qty)) lots.shift();
        else lot.qty = lot.qty.minus(take);
      }
    }
    if (lots.length > 0) out[symbol] = lots[0]!.session;
  }
  return out;
}

/**
 * Exit intents (purpose `rebalance`, reason `HOLDING_PERIOD`) for every long held for at least
 * `maxHoldingSessions` sessions, counting its entry session and today: a position entered on
 * session E is closed in session E + h − 1 (h = 5: entered Monday, sold Friday), which is the close
 * the model's label ends on (features of the session before E, label close_{E−1} → close_{E−1+h}).
 *
 * @param sessionsHeld symbol → sessions from the oldest open lot's session through today, both
 *   counted (the caller counts them on the NYSE calendar); a symbol absent here (e.g. a position the
 *   ledger cannot date) gets no holding exit — its stop-loss still protects it.
 * @param maxHoldingSessions h ≥ 1; 0 turns holding exits off (returns none).
 * @returns one intent per long position due, symbols ascending; shorts and flat positions never.
 */
export function holdingPeriodExits(
  account: Pick<AccountSnapshot, 'positions'>,
  sessionsHeld: Readonly<Record<string, number>>,
  maxHoldingSessions: number,
): ExitIntent[] {
  if (maxHoldingSessions <= 0) return [];
  return account.positions
    .filter((p) => dec(p.qty).gt(0))
    .filter((p) => (sessionsHeld[p.symbol] ?? 0) >= maxHoldingSessions)
    .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0))
    .map((p) => ({
      kind: 'exit' as const,
      symbol: p.symbol,
      side: 'sell' as const,
      qty: dec(p.qty).toString(),
      purpose: 'rebalance' as const,
      cause: `HOLDING_PERIOD: ${p.symbol} held ${sessionsHeld[p.symbol]} sessions >= ${maxHoldingSessions}`,
    }));
}
