import { describe, expect, it } from 'vitest';
import { isFinalState, judgeTransition, LIFECYCLE_STATUSES, STATE_OF, type LifecycleStatus } from '../../../lambdas/core/order-lifecycle';
import { ALPACA_ORDER_STATUSES } from '../../../lambdas/core/order-status';

describe('order lifecycle: every Alpaca status has an internal state', () => {
  it('maps all 17 Alpaca statuses (held included) and pending_submit', () => {
    expect(ALPACA_ORDER_STATUSES).toHaveLength(17);
    expect(ALPACA_ORDER_STATUSES).toContain('held');
    for (const status of LIFECYCLE_STATUSES) expect(STATE_OF[status], status).toBeDefined();
    expect(Object.keys(STATE_OF).sort()).toEqual([...LIFECYCLE_STATUSES].sort());
  });

  it('treats exactly filled, canceled, expired, rejected and replaced as final', () => {
    const finals = LIFECYCLE_STATUSES.filter((s) => isFinalState(STATE_OF[s]));
    expect(finals.sort()).toEqual(['canceled', 'expired', 'filled', 'rejected', 'replaced']);
  });

  it('knows held as a leg waiting on its parent, pending_cancel as a cancel in flight', () => {
    expect(STATE_OF.held).toBe('HELD');
    expect(STATE_OF.pending_cancel).toBe('CANCELING');
    expect(STATE_OF.accepted).toBe('PENDING');
    expect(STATE_OF.suspended).toBe('WORKING');
  });
});

describe('judgeTransition', () => {
  const legal: Array<[LifecycleStatus, LifecycleStatus, string, string]> = [
    ['pending_submit', 'filled', '0', '10'], // first sighting may show anything
    ['pending_submit', 'held', '0', '0'],
    ['accepted', 'new', '0', '0'],
    ['new', 'partially_filled', '0', '4'],
    ['partially_filled', 'filled', '4', '10'],
    ['partially_filled', 'canceled', '4', '4'], // partial fill, then canceled
    ['new', 'pending_cancel', '0', '0'],
    ['pending_cancel', 'canceled', '0', '0'],
    ['pending_cancel', 'filled', '0', '10'], // the fill beat the cancel
    ['pending_cancel', 'new', '0', '0'], // a rejected cancel
    ['held', 'new', '0', '0'], // parent filled: the stop leg starts working
    ['held', 'filled', '0', '10'], // triggered between two reads
    ['held', 'canceled', '0', '0'], // parent canceled / OCO sibling filled
    ['new', 'expired', '0', '0'],
    ['new', 'rejected', '0', '0'],
    ['done_for_day', 'new', '0', '0'],
  ];
  it.each(legal)('applies %s → %s (filled %s → %s)', (from, to, before, after) => {
    expect(judgeTransition(from, to, before, after)).toEqual({ kind: 'apply', lateFill: false });
  });

  it.each([
    ['canceled', 'filled', '0', '10'],
    ['canceled', 'canceled', '0', '3'], // canceled reported again, now carrying fills
    ['expired', 'partially_filled', '0', '2'],
  ] as Array<[LifecycleStatus, LifecycleStatus, string, string]>)('applies a LATE FILL %s → %s (filled %s → %s)', (from, to, before, after) => {
    expect(judgeTransition(from, to, before, after)).toEqual({ kind: 'apply', lateFill: true });
  });

  const illegal: Array<[LifecycleStatus, LifecycleStatus, string, string, RegExp]> = [
    ['filled', 'canceled', '10', '10', /illegal transition filled → canceled/],
    ['filled', 'new', '10', '10', /illegal transition/],
    ['canceled', 'new', '0', '0', /illegal transition canceled → new/],
    ['rejected', 'filled', '0', '10', /rejected is final, yet filled qty grew|illegal/],
    ['replaced', 'new', '0', '0', /illegal/],
    ['new', 'held', '0', '0', /illegal transition new → held/], // an order never goes back to held
    ['canceled', 'held', '0', '3', /not a late fill/],
    ['partially_filled', 'partially_filled', '6', '4', /fills never shrink/],
  ];
  it.each(illegal)('refuses %s → %s (filled %s → %s)', (from, to, before, after, reason) => {
    const verdict = judgeTransition(from, to, before, after);
    expect(verdict.kind).toBe('refuse');
    expect(verdict.kind === 'refuse' && verdict.reason).toMatch(reason);
  });

  it('is a no-op for the same status and filled qty', () => {
    expect(judgeTransition('new', 'new', '0', '0')).toEqual({ kind: 'none' });
    expect(judgeTransition('filled', 'filled', '10', '10')).toEqual({ kind: 'none' });
  });

  it('never lets a final order change, whatever the target (exhaustive)', () => {
    for (const from of LIFECYCLE_STATUSES.filter((s) => isFinalState(STATE_OF[s]))) {
      for (const to of LIFECYCLE_STATUSES) {
        if (to === from || to === 'pending_submit') continue;
        const verdict = judgeTransition(from, to, '0', '0');
        expect(verdict.kind, `${from} → ${to}`).toBe('refuse');
      }
    }
  });
});
