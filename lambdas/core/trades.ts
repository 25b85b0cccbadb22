/**
 * Closed round-trip trades from the order ledger's fills, for performance statistics (win rate,
 * losing streaks, P&L per trade).
 *
 * Long-only account: buys open lots, sells close them FIFO (first in, first out: the oldest open
 * lot is closed first, the matching convention of IRS Pub. 550 for unidentified shares). All money
 * and quantity arithmetic uses `Dec` (money.ts), so P&L is exact in decimal.
 *
 * Pure: no I/O, no clock.
 */
import type { OrderPurpose } from './client-order-id';
import type { LedgerFill } from './ledger';
import { Dec, dec } from './money';

/**
 * One closed trade: the shares ONE sell fill closed, against the lots it consumed. Decimal strings
 * in plain (non-exponential) notation; qty in shares, prices in USD per share, money in USD.
 */
export interface ClosedTrade {
  symbol: string;
  /** Shares closed: the sell fill's qty. */
  qty: string;
  /** Qty-weighted average price of the consumed lots (USD/share), rounded half-even to 6 decimals for display; `pnl` uses the exact lot costs. */
  entryPrice: string;
  /** The sell fill's price (USD/share). */
  exitPrice: string;
  /** filledAt (ISO-8601 UTC) of the oldest lot consumed. */
  entryAt: string;
  /** New York session date (YYYY-MM-DD) of the oldest lot consumed. */
  entrySessionDate: string;
  /** filledAt (ISO-8601 UTC) of the sell fill. */
  exitAt: string;
  /** New York session date (YYYY-MM-DD) of the sell fill. */
  exitSessionDate: string;
  /** Σ lotQty × lotPrice over the consumed lots (USD), exact. */
  costBasis: string;
  /** Realized P&L (USD), exact: qty × exitPrice − costBasis = (exitPrice − exact average entry) × qty. No fees. */
  pnl: string;
  /** pnl / costBasis, a fraction (0.1 = +10 %), rounded half-even to 10 decimals. */
  returnFraction: string;
  /** Why the sell happened (the sell fill's purpose), e.g. `stop_loss`. */
  exitPurpose: OrderPurpose;
  /** client_order_id of the sell order, to trace the trade back to the ledger. */
  exitClientOrderId: string;
}

interface ParsedFill {
  fill: LedgerFill;
  time: number;
  qty: Dec;
  price: Dec;
  cumulativeQty: Dec;
}

interface Lot {
  qty: Dec;
  price: Dec;
  at: string;
  sessionDate: string;
}

/** Plain decimal notation (decimal.js `toString` switches to exponents below 1e-7). */
const plain = (d: Dec): string => d.toFixed();

function parseFill(f: LedgerFill): ParsedFill {
  const id = `fill ${f.clientOrderId}`;
  if (f.side !== 'buy' && f.side !== 'sell') throw new Error(`${id}.side must be buy or sell, got ${JSON.stringify(f.side)}`);
  const time = Date.parse(f.filledAt);
  if (Number.isNaN(time)) throw new Error(`${id}.filledAt must be an ISO-8601 time, got ${JSON.stringify(f.filledAt)}`);
  const qty = dec(f.qty, `${id}.qty`);
  if (qty.lte(0)) throw new Error(`${id}.qty must be > 0, got ${JSON.stringify(f.qty)}`);
  const price = dec(f.price, `${id}.price`);
  if (price.lte(0)) throw new Error(`${id}.price must be > 0, got ${JSON.stringify(f.price)}`);
  return { fill: f, time, qty, price, cumulativeQty: dec(f.cumulativeQty, `${id}.cumulativeQty`) };
}

/** Fill order within a symbol: filledAt, then buys before sells, then cumulativeQty, then clientOrderId. */
function compareFills(a: ParsedFill, b: ParsedFill): number {
  if (a.time !== b.time) return a.time - b.time;
  if (a.fill.side !== b.fill.side) return a.fill.side === 'buy' ? -1 : 1;
  const byCum = a.cumulativeQty.comparedTo(b.cumulativeQty);
  if (byCum !== 0) return byCum;
  return a.fill.clientOrderId < b.fill.clientOrderId ? -1 : a.fill.clientOrderId > b.fill.clientOrderId ? 1 : 0;
}

/**
 * Closed trades of a long-only ledger, one per sell fill.
 *
 * - Order: per symbol, fills are replayed by filledAt; at equal times buys come before sells (a
 *   buy and a sell stamped the same instant cannot be an oversell), then by cumulativeQty (the
 *   increments of one order in the order they filled), then by clientOrderId (deterministic).
 * - Matching: FIFO. Each buy fill opens a lot; each sell fill consumes the oldest open lots (splitting
 *   a lot when it needs only part of it) and yields ONE {@link ClosedTrade}: qty = the sell qty,
 *   entryPrice = qty-weighted average of what it consumed, pnl = (exit − entry) × qty, exact in
 *   decimal. Lots left open are not reported.
 * - Result: sorted by exitAt (as a time), then symbol; equal keys keep replay order.
 * @param fills ledger fills in any order, any symbols.
 * @throws Error when a sell exceeds the open lots (a long-only ledger never sells more than it
 *   holds), naming the symbol, the fill's clientOrderId and both quantities; or when a fill has a
 *   bad side, filledAt, qty, price or cumulativeQty (naming the fill and the value).
 */
export function closedTrades(fills: readonly LedgerFill[]): ClosedTrade[] {
  const bySymbol = new Map<string, ParsedFill[]>();
  for (const f of fills) {
    const parsed = parseFill(f);
    const list = bySymbol.get(f.symbol);
    if (list) list.push(parsed);
    else bySymbol.set(f.symbol, [parsed]);
  }

  const out: { trade: ClosedTrade; time: number }[] = [];
  for (const [symbol, list] of bySymbol) {
    list.sort(compareFills);
    const lots: Lot[] = [];
    for (const p of list) {
      const f = p.fill;
      if (f.side === 'buy') {
        lots.push({ qty: p.qty, price: p.price, at: f.filledAt, sessionDate: f.sessionDate });
        continue;
      }
      const open = lots.reduce((sum, l) => sum.plus(l.qty), new Dec(0));
      if (p.qty.gt(open)) {
        throw new Error(
          `closedTrades: ${symbol} sell fill ${f.clientOrderId} (cumulativeQty ${f.cumulativeQty}) of ${plain(p.qty)} shares exceeds the open long of ${plain(open)} shares`,
        );
      }
      const first = lots[0] as Lot;
      let remaining = p.qty;
      let cost = new Dec(0);
      while (remaining.gt(0)) {
        const lot = lots[0] as Lot;
        const take = Dec.min(lot.qty, remaining);
        cost = cost.plus(take.times(lot.price));
        remaining = remaining.minus(take);
        if (take.eq(lot.qty)) lots.shift();
        else lot.qty = lot.qty.minus(take);
      }
      const pnl = p.qty.times(p.price).minus(cost);
      out.push({
        time: p.time,
        trade: {
          symbol,
          qty: plain(p.qty),
          entryPrice: plain(cost.div(p.qty).toDecimalPlaces(6)),
          exitPrice: plain(p.price),
          entryAt: first.at,
          entrySessionDate: first.sessionDate,
          exitAt: f.filledAt,
          exitSessionDate: f.sessionDate,
          costBasis: plain(cost),
          pnl: plain(pnl),
          returnFraction: plain(pnl.div(cost).toDecimalPlaces(10)),
          exitPurpose: f.purpose,
          exitClientOrderId: f.clientOrderId,
        },
      });
    }
  }
  out.sort((a, b) => a.time - b.time || (a.trade.symbol < b.trade.symbol ? -1 : a.trade.symbol > b.trade.symbol ? 1 : 0));
  return out.map((o) => o.trade);
}

/**
 * Length of the losing streak at the END of `trades` (in list order, e.g. as {@link closedTrades}
 * sorts them): the number of trailing trades with pnl < 0. A trade with pnl exactly 0 is not a loss
 * and breaks the streak, as does a win; an empty list gives 0.
 * @throws Error `trades[i].pnl must be a finite decimal, got <value>` for a bad pnl in the streak.
 */
export function consecutiveLosses(trades: readonly ClosedTrade[]): number {
  let streak = 0;
  for (let i = trades.length - 1; i >= 0; i--) {
    if (!dec((trades[i] as ClosedTrade).pnl, `trades[${i}].pnl`).lt(0)) break;
    streak++;
  }
  return streak;
}
