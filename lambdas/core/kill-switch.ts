/**
 * Kill switch and trading state.
 *
 * The kill switch is a parameter the owner toggles in the AWS console (SSM) or with
 * `--kill-switch` locally: ARMED (trade), REDUCE_ONLY (exits only), HALTED (nothing new).
 * Reading it FAILS CLOSED: a missing, unreadable or unrecognised value means HALTED.
 *
 * The trading state is the pipeline's own latch: reconciliation sets it to HALTED on a mismatch;
 * only the owner re-arming the kill switch after the halt clears it.
 */

export const KILL_SWITCH_STATES = ['ARMED', 'REDUCE_ONLY', 'HALTED'] as const;
export type KillSwitchState = (typeof KILL_SWITCH_STATES)[number];

/** The outcome of reading the kill-switch parameter, before interpretation. */
export type KillSwitchRead =
  | { ok: true; value: string; lastModified?: string }
  | { ok: false; error: string };

/** The interpreted kill switch. `failedClosed` is true when HALTED was forced by a bad read. */
export interface KillSwitchStatus {
  state: KillSwitchState;
  failedClosed: boolean;
  /** Human explanation, e.g. "kill switch parameter unreadable (AccessDenied); treated as HALTED". */
  reason: string;
  /** ISO-8601 UTC of the parameter's last change, when known. */
  lastModified?: string;
}

/**
 * Interprets a kill-switch read, failing closed.
 * Accepts exactly `ARMED`, `REDUCE_ONLY` or `HALTED` (surrounding whitespace ignored, case
 * sensitive: the SSM parameter's allowedPattern enforces the same spelling).
 * @returns HALTED with `failedClosed: true` for a failed read, an empty value or any other value.
 */
export function interpretKillSwitch(read: KillSwitchRead): KillSwitchStatus {
  if (!read.ok) {
    return {
      state: 'HALTED',
      failedClosed: true,
      reason: `kill switch parameter unreadable (${read.error}); treated as HALTED`,
    };
  }
  const value = read.value.trim();
  if ((KILL_SWITCH_STATES as readonly string[]).includes(value)) {
    return {
      state: value as KillSwitchState,
      failedClosed: false,
      reason: `kill switch is ${value}`,
      ...(read.lastModified ? { lastModified: read.lastModified } : {}),
    };
  }
  return {
    state: 'HALTED',
    failedClosed: true,
    reason: `kill switch value ${JSON.stringify(read.value)} is not one of ${KILL_SWITCH_STATES.join('|')}; treated as HALTED`,
    ...(read.lastModified ? { lastModified: read.lastModified } : {}),
  };
}

/** The pipeline's persisted latch. ACTIVE unless something (reconciliation) halted it. */
export interface PersistedTradingState {
  /** HALTED blocks every new entry; REDUCING blocks anything that adds exposure; both latch until re-armed. */
  state: 'ACTIVE' | 'REDUCING' | 'HALTED';
  /** Stable code + detail, e.g. "RECONCILIATION_MISMATCH: AAPL ledger 10 vs broker 0". */
  cause: string;
  /** ISO-8601 UTC of the last change. */
  since: string;
}

/** What the account may do right now: ACTIVE (enter and exit), REDUCING (exits only), HALTED (no new entries). */
export type TradingStateName = 'ACTIVE' | 'REDUCING' | 'HALTED';

export interface EffectiveTradingState {
  state: TradingStateName;
  cause: string;
}

/** Initial latch for a new account. */
export const INITIAL_TRADING_STATE: PersistedTradingState = {
  state: 'ACTIVE',
  cause: 'INITIAL: no halt recorded',
  since: '1970-01-01T00:00:00.000Z',
};

/**
 * Combines the kill switch and the latch; the most restrictive wins.
 * HALTED kill switch or HALTED latch → HALTED; REDUCE_ONLY → REDUCING; else ACTIVE.
 */
export function effectiveTradingState(
  killSwitch: KillSwitchStatus,
  latch: PersistedTradingState,
): EffectiveTradingState {
  if (killSwitch.state === 'HALTED') return { state: 'HALTED', cause: `KILL_SWITCH: ${killSwitch.reason}` };
  if (latch.state === 'HALTED') return { state: 'HALTED', cause: latch.cause };
  if (latch.state === 'REDUCING') return { state: 'REDUCING', cause: latch.cause };
  if (killSwitch.state === 'REDUCE_ONLY') return { state: 'REDUCING', cause: `KILL_SWITCH: ${killSwitch.reason}` };
  return { state: 'ACTIVE', cause: 'KILL_SWITCH: kill switch is ARMED' };
}

/**
 * Clears a HALTED latch when the owner has re-armed the kill switch after the halt:
 * the switch reads ARMED (not failed closed) and its lastModified is later than the halt.
 * @param now ISO-8601 UTC, recorded as the new `since`.
 * @returns the latch to persist (the same object when nothing changes).
 */
export function clearHaltIfRearmed(
  latch: PersistedTradingState,
  killSwitch: KillSwitchStatus,
  now: string,
): PersistedTradingState {
  if (latch.state === 'ACTIVE') return latch;
  if (killSwitch.state !== 'ARMED' || killSwitch.failedClosed || !killSwitch.lastModified) return latch;
  if (Date.parse(killSwitch.lastModified) <= Date.parse(latch.since)) return latch;
  return {
    state: 'ACTIVE',
    cause: `REARMED: kill switch set to ARMED at ${killSwitch.lastModified}, after the halt (${latch.cause})`,
    since: now,
  };
}
