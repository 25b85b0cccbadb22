/**
 * Decimal arithmetic for money (USD) and quantities (shares), and venue tick rounding.
 * Floats are fine for indicators; anything that is summed into cash, equity or a position goes
 * through `Dec` so nothing accumulates binary rounding error.
 */
import Decimal from 'decimal.js';

/** decimal.js constructor with 34 significant digits (IEEE 754 decimal128) and banker's rounding. */
export const Dec = Decimal.clone({ precision: 34, rounding: Decimal.ROUND_HALF_EVEN });
export type Dec = InstanceType<typeof Dec>;

/** Anything a decimal can be built from: decimal string ("163.09"), finite number, or a Dec. */
export type DecimalLike = string | number | Dec;

/**
 * Builds a decimal, refusing NaN, ±Infinity and non-numeric strings.
 * @param field name used in the error message.
 * @throws Error `${field} must be a finite decimal, got ${value}`.
 */
export function dec(value: DecimalLike, field = 'value'): Dec {
  let d: Dec;
  try {
    d = new Dec(value);
  } catch {
    throw new Error(`${field} must be a finite decimal, got ${JSON.stringify(value)}`);
  }
  if (!d.isFinite()) throw new Error(`${field} must be a finite decimal, got ${JSON.stringify(value)}`);
  return d;
}

/**
 * Minimum price increment for US equities: $0.01 at or above $1.00, $0.0001 below
 * (SEC Regulation NMS Rule 612, the sub-penny rule; Alpaca rejects prices off this grid).
 * @param price USD per share, > 0.
 */
export function tickSize(price: DecimalLike): Dec {
  return dec(price, 'price').gte(1) ? new Dec('0.01') : new Dec('0.0001');
}

/** Rounding direction for prices: `down` toward zero, `up` away from zero, `nearest` half-even. */
export type TickRounding = 'down' | 'up' | 'nearest';

/**
 * Rounds a price to the venue tick (see tickSize). The tick is chosen from the unrounded price;
 * a result that crosses $1 keeps the finer grid, which is always valid.
 * @returns the rounded price (USD), never negative.
 * @throws Error when the price is not a positive finite decimal.
 */
export function roundToTick(price: DecimalLike, mode: TickRounding): Dec {
  const p = dec(price, 'price');
  if (p.lte(0)) throw new Error(`price must be > 0, got ${p.toString()}`);
  const tick = tickSize(p);
  const rounding = mode === 'down' ? Decimal.ROUND_DOWN : mode === 'up' ? Decimal.ROUND_UP : Decimal.ROUND_HALF_EVEN;
  return p.toNearest(tick, rounding);
}

/** True when the price sits exactly on its tick grid. */
export function isOnTick(price: DecimalLike): boolean {
  const p = dec(price, 'price');
  return p.gt(0) && p.mod(tickSize(p)).isZero();
}

/** Formats USD with thousands separators and 2 decimals, e.g. 101234.5 → "101,234.50". */
export function formatUsd(value: DecimalLike): string {
  const fixed = dec(value).toFixed(2, Decimal.ROUND_HALF_EVEN);
  const [int, frac] = fixed.split('.');
  const sign = int!.startsWith('-') ? '-' : '';
  const digits = sign ? int!.slice(1) : int!;
  return `${sign}${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${frac}`;
}

/** Formats a fraction as a percentage with the given decimals, e.g. 0.005 → "0.50%". */
export function formatPct(fraction: DecimalLike, decimals = 2): string {
  return `${dec(fraction).times(100).toFixed(decimals, Decimal.ROUND_HALF_EVEN)}%`;
}

/** JSON number for reports: the decimal rounded to `places` (half-even). */
export function toReportNumber(value: DecimalLike, places = 2): number {
  return dec(value).toDecimalPlaces(places, Decimal.ROUND_HALF_EVEN).toNumber();
}
