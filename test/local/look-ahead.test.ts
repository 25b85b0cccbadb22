/**
 * Look-ahead guard for the whole decision chain: features → model → risk → orders.
 *
 * Two replays of the same sessions on the bundled data, one of them over a copy where every bar
 * dated after the decision session D is scaled by a random factor in [0.5, 2] (its volume by
 * another), and D's own bar keeps only its open: its high, low, close and volume are redrawn. The
 * open is public at 09:30, before the 09:45 decision, and the account the decision sees has played
 * it (an entry or a stop that gapped at the open filled there); nothing else of D is known yet.
 * Every decision made for sessions up to and including D must be identical: the model's predictions bit for bit, eligibility
 * and reasons, every risk decision (rule, reason, quantity, limit and stop prices), and every order
 * sent (client_order_id, side, quantity, prices, purpose). Before D, fills and equity are identical
 * too; D's fills may differ, since they come from D's (perturbed) bar.
 *
 * The model is the shipped walk-forward bundle; the snapshot each session uses was trained strictly
 * before it (selectSnapshot), and training's own look-ahead guard is in test/lambdas/core/model.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RangeReport, SessionReport } from '../../local/report';
import { runLocal } from '../../local/runner';
import { bundledRun, ROOT } from '../support/local-run';
import { prng } from '../support/prng';

const SESSIONS = ['2017-09-25', '2017-09-26', '2017-09-27', '2017-09-28', '2017-09-29', '2017-10-02', '2017-10-03', '2017-10-04'];
const D = '2017-10-03';


/**
 * Copies data/daily: every row dated after `from` scaled (all four prices by one factor, so the bar
 * stays consistent), and the row of `from` redrawn around its unchanged open.
 */
function perturbedCopy(from: string, seed: number): { dir: string; rows: number } {
  const src = join(ROOT, 'data/daily');
  const dir = mkdtempSync(join(tmpdir(), 'look-ahead-data-'));
  const rand = prng(seed);
  let rows = 0;
  for (const name of readdirSync(src)) {
    const lines = readFileSync(join(src, name), 'utf8').split('\n');
    const header = (lines[0] ?? '').split(',');
    const col = (c: string) => header.indexOf(c);
    const [iDate, iO, iH, iL, iC, iV] = ['date', 'open', 'high', 'low', 'close', 'volume'].map(col) as [number, number, number, number, number, number];
    const out = lines.map((line, i) => {
      if (i === 0 || line.trim() === '') return line;
      const f = line.split(',');
      if (!(f[iDate]! >= from)) return line;
      if (f[iDate] === from) {
        if (f[iO] === '') return line;
        const open = Number(f[iO]);
        const close = open * (0.7 + 0.6 * rand());
        f[iC] = close.toFixed(4);
        f[iH] = (Math.max(open, close) * (1 + 0.05 * rand())).toFixed(4);
        f[iL] = (Math.min(open, close) * (1 - 0.05 * rand())).toFixed(4);
      } else {
        const k = 0.5 + 1.5 * rand();
        for (const j of [iO, iH, iL, iC]) if (f[j] !== '') f[j] = (Number(f[j]) * k).toFixed(4);
      }
      if (f[iV] !== '') f[iV] = String(Math.round(Number(f[iV]) * (0.2 + 3 * rand())));
      rows++;
      return f.join(',');
    });
    writeFileSync(join(dir, name), out.join('\n'));
  }
  return { dir, rows };
}

/** What was decided for a session (everything before the broker's answers). */
function decided(d: SessionReport) {
  return {
    tradingDate: d.tradingDate,
    quarantined: d.quarantined,
    model: d.model,
    scores: d.scores,
    tradingState: d.tradingState,
    decisions: d.decisions,
    ordersSent: d.orders
      .filter((o) => o.submittedThisRun)
      .map((o) => ({ id: o.clientOrderId, symbol: o.symbol, side: o.side, qty: o.qty, type: o.type, limitPrice: o.limitPrice, stopLossPrice: o.stopLossPrice, purpose: o.purpose, tif: o.timeInForce })),
  };
}

describe('look-ahead guard: perturbing what is not known at the 09:45 decision changes no decision', { timeout: 300_000 }, () => {
  let original: RangeReport;
  let perturbed: RangeReport;
  let perturbedRows = 0;

  beforeAll(async () => {
    const copy = perturbedCopy(D, 20261121);
    perturbedRows = copy.rows;
    const state = (tag: string) => mkdtempSync(join(tmpdir(), `look-ahead-${tag}-`));
    original = await runLocal(bundledRun(SESSIONS, {}, state('orig')));
    perturbed = await runLocal({ ...bundledRun(SESSIONS, {}, state('pert')), dataDir: copy.dir });
  });

  it('the perturbation is real: D and later bars changed, so D fills and later decisions may differ', () => {
    expect(perturbedRows).toBeGreaterThan(61 * 2);
    const last = (r: RangeReport) => r.days[r.days.length - 1]!;
    // The session after D decides on D's perturbed bar: its decisions are expected to change.
    expect(decided(last(perturbed))).not.toEqual(decided(last(original)));
  });

  it('the replay exercises the chain: the model scored, entries and holding-period exits were sent', () => {
    const sent = original.days.flatMap((d) => d.orders.filter((o) => o.submittedThisRun));
    expect(original.days.every((d) => d.model !== null && d.model.startsWith('baseline-ridge-fwd5@'))).toBe(true);
    expect(sent.some((o) => o.purpose === 'entry')).toBe(true);
    expect(sent.some((o) => o.purpose === 'rebalance')).toBe(true);
    const atD = original.days.find((d) => d.tradingDate === D)!;
    expect(atD.decisions.length).toBeGreaterThan(0);
    expect(atD.scores.filter((s) => s.eligible).length).toBeGreaterThan(0);
  });

  it('every session up to D decides exactly the same (predictions bit for bit, risk decisions, orders)', () => {
    for (const date of SESSIONS.filter((s) => s <= D)) {
      const a = original.days.find((d) => d.tradingDate === date)!;
      const b = perturbed.days.find((d) => d.tradingDate === date)!;
      expect(decided(b), date).toEqual(decided(a));
    }
  });

  it('before D, fills, positions and equity are identical too', () => {
    for (const date of SESSIONS.filter((s) => s < D)) {
      const a = original.days.find((d) => d.tradingDate === date)!;
      const b = perturbed.days.find((d) => d.tradingDate === date)!;
      expect({ fills: b.fills, positions: b.positions, equity: b.equity, cash: b.cash }, date).toEqual({ fills: a.fills, positions: a.positions, equity: a.equity, cash: a.cash });
    }
  });
});
