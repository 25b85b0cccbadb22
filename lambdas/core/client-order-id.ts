/**
 * Deterministic client_order_id.
 *
 * The same intent (strategy, session, symbol, side, purpose) always yields the same id, so a
 * retried, duplicated or re-run execution can never create a second order: the ledger's
 * conditional put and the broker's uniqueness check (Alpaca answers 422
 * `client_order_id must be unique`, permanently, even after a cancel) both refuse it.
 *
 * Format: `<strategyId>-<YYYYMMDD>-<SYMBOL>-<b|s>-<purpose code>`, e.g. `momo1-20180207-BRK.B-b-en`.
 * Readable on a broker statement; at most 12+1+8+1+10+1+1+1+2 = 37 characters, under Alpaca's
 * 48-character limit. Parts cannot contain '-', so the mapping is injective.
 */
import type { OrderSide } from '../ports';

/**
 * Why an order exists. Stored explicitly on every ledger order, never inferred from its state.
 * `entry` opens risk; the exit kinds close it: `stop_loss` and `take_profit` (legs of an OTO or
 * bracket entry), `flatten` (the kill switch's close-everything) and `rebalance` (a strategy exit).
 */
export const ORDER_PURPOSES = ['entry', 'stop_loss', 'take_profit', 'flatten', 'rebalance'] as const;
/** The exit kinds: every purpose except `entry`. */
export const EXIT_KINDS = ['stop_loss', 'take_profit', 'flatten', 'rebalance'] as const;
export type ExitKind = (typeof EXIT_KINDS)[number];
export type OrderPurpose = (typeof ORDER_PURPOSES)[number];

const PURPOSE_CODE: Record<OrderPurpose, string> = {
  entry: 'en',
  stop_loss: 'sl',
  take_profit: 'tp',
  flatten: 'fl',
  rebalance: 'rb',
};

/** Alpaca's maximum client_order_id length. */
export const MAX_CLIENT_ORDER_ID_LENGTH = 48;

export interface ClientOrderIdParts {
  /** 1–12 chars, a-z0-9, starting with a letter. */
  strategyId: string;
  /** Session the order is for, YYYY-MM-DD (New York). */
  sessionDate: string;
  /** 1–10 chars, A-Z0-9 and '.'. */
  symbol: string;
  side: OrderSide;
  purpose: OrderPurpose;
}

/**
 * Derives the client_order_id for an intent.
 * @throws Error naming the field and value when a part is malformed.
 */
export function deriveClientOrderId(parts: ClientOrderIdParts): string {
  const { strategyId, sessionDate, symbol, side, purpose } = parts;
  if (!/^[a-z][a-z0-9]{0,11}$/.test(strategyId)) {
    throw new Error(`strategyId must be 1-12 chars of a-z/0-9 starting with a letter, got ${JSON.stringify(strategyId)}`);
  }
  if (!isCalendarDate(sessionDate)) {
    throw new Error(`sessionDate must be a real date YYYY-MM-DD, got ${JSON.stringify(sessionDate)}`);
  }
  if (!/^[A-Z][A-Z0-9.]{0,9}$/.test(symbol)) {
    throw new Error(`symbol must be 1-10 chars of A-Z/0-9/".", got ${JSON.stringify(symbol)}`);
  }
  if (side !== 'buy' && side !== 'sell') throw new Error(`side must be buy or sell, got ${JSON.stringify(side)}`);
  const code = PURPOSE_CODE[purpose];
  if (!code) throw new Error(`purpose must be one of ${ORDER_PURPOSES.join('|')}, got ${JSON.stringify(purpose)}`);
  const id = `${strategyId}-${sessionDate.replaceAll('-', '')}-${symbol}-${side === 'buy' ? 'b' : 's'}-${code}`;
  if (id.length > MAX_CLIENT_ORDER_ID_LENGTH) {
    // Unreachable with the part limits above; kept so a future format change cannot exceed it silently.
    throw new Error(`client_order_id ${id} is ${id.length} chars, over the ${MAX_CLIENT_ORDER_ID_LENGTH}-char limit`);
  }
  return id;
}

/**
 * Inverse of deriveClientOrderId, for reports and audits.
 * @returns undefined when the id was not produced by deriveClientOrderId (e.g. a broker-made leg id).
 */
export function parseClientOrderId(id: string): ClientOrderIdParts | undefined {
  const match = /^([a-z][a-z0-9]{0,11})-(\d{4})(\d{2})(\d{2})-([A-Z][A-Z0-9.]{0,9})-([bs])-([a-z]{2})$/.exec(id);
  if (!match) return undefined;
  const purpose = (Object.keys(PURPOSE_CODE) as OrderPurpose[]).find((p) => PURPOSE_CODE[p] === match[7]);
  if (!purpose) return undefined;
  const sessionDate = `${match[2]}-${match[3]}-${match[4]}`;
  if (!isCalendarDate(sessionDate)) return undefined;
  return {
    strategyId: match[1]!,
    sessionDate,
    symbol: match[5]!,
    side: match[6] === 'b' ? 'buy' : 'sell',
    purpose,
  };
}

function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}
