/**
 * Feature rows computed on a second thread, ahead of the pipeline, for a local replay over CSV data.
 *
 * The features step is the largest fixed cost of a replayed session (about 15 ms of the engine's 76
 * columns over 505 symbols × 300 bars), and it depends only on the market data: not on the account,
 * the ledger or any decision. So while the main thread runs session N, a worker
 * (feature-precompute-worker.ts) computes the rows of the next sessions from the same files with the
 * same functions. The features step takes a row only when the BARS bytes it was computed from equal
 * the artifact the fetch step wrote (`featuresStep`, lambdas/handlers/features.ts): a row the worker
 * got wrong, or a file that changed in between, is computed again in the step. The FEATURES
 * artifact is the same either way.
 *
 * A worker that fails only costs the speed: every session is then computed in the step, and `warn`
 * is told once.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { StrategyConfig } from '../lambdas/core/config';
import type { FeatureRowPrecompute, PrecomputedFeatureRow } from '../lambdas/handlers/features';

/** What the worker reads: the replay's data folder, calendar, strategy config and universe override. */
export interface FeaturePrecomputeInit {
  dataDir: string;
  calendarFile: string;
  config: StrategyConfig;
  symbols: string[] | undefined;
}

/** The worker's answer for one session. */
export type FeaturePrecomputeReply = { date: string; rows: Array<[string, PrecomputedFeatureRow]> } | { date: string; error: string };

type Rows = ReadonlyMap<string, PrecomputedFeatureRow> | undefined;

/** Sessions computed ahead of the one the step asks for (each holds about 7 MB of bytes and rows). */
export const PRECOMPUTE_AHEAD = 2;

/**
 * FeatureRowPrecompute over a worker thread, for the ascending `sessions` of one replay.
 * `tally` counts the rows the steps took precomputed and those they computed themselves.
 */
export class FeaturePrecomputeWorker implements FeatureRowPrecompute {
  readonly tally = { precomputed: 0, computed: 0 };
  private readonly worker: Worker;
  private readonly indexOf = new Map<string, number>();
  private readonly answers = new Map<string, { promise: Promise<Rows>; resolve: (rows: Rows) => void }>();
  private requested = 0;
  private failure: string | null = null;

  /**
   * Starts the worker and asks for the first sessions.
   * @param warn told once, with the reason, when the worker fails (the run goes on without it).
   */
  constructor(
    private readonly sessions: readonly string[],
    init: FeaturePrecomputeInit,
    private readonly warn: (message: string) => void,
  ) {
    sessions.forEach((date, i) => this.indexOf.set(date, i));
    // The worker is TypeScript: it runs under the tsx loader, as `npm start` does.
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    this.worker = new Worker(new URL('./feature-precompute-worker.ts', import.meta.url), { workerData: init, execArgv: ['--import', tsx] });
    this.worker.on('message', (reply: FeaturePrecomputeReply) => {
      const answer = this.answers.get(reply.date);
      if (!answer) return;
      if ('error' in reply) {
        this.warn(`feature precompute: session ${reply.date} not precomputed (${reply.error}); the features step computes it`);
        answer.resolve(undefined);
      } else {
        answer.resolve(new Map(reply.rows));
      }
    });
    this.worker.on('error', (error) => this.fail(`${error.name}: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`worker exited with code ${code}`));
    this.requestThrough(PRECOMPUTE_AHEAD);
  }

  async session(tradingDate: string): Promise<Rows> {
    const index = this.indexOf.get(tradingDate);
    if (index === undefined || this.failure !== null) return undefined;
    for (const date of this.answers.keys()) if (this.indexOf.get(date)! < index) this.answers.delete(date);
    this.requestThrough(index + PRECOMPUTE_AHEAD);
    return this.answers.get(tradingDate)?.promise;
  }

  used(_tradingDate: string, counts: { precomputed: number; computed: number }): void {
    this.tally.precomputed += counts.precomputed;
    this.tally.computed += counts.computed;
  }

  /** Stops the worker (pending sessions resolve to none). */
  async close(): Promise<void> {
    this.failure ??= 'closed';
    this.worker.removeAllListeners('exit');
    for (const answer of this.answers.values()) answer.resolve(undefined);
    await this.worker.terminate();
  }

  private requestThrough(last: number): void {
    for (; this.requested <= last && this.requested < this.sessions.length && this.failure === null; this.requested++) {
      const date = this.sessions[this.requested]!;
      let resolve!: (rows: Rows) => void;
      const promise = new Promise<Rows>((r) => (resolve = r));
      this.answers.set(date, { promise, resolve });
      this.worker.postMessage({ date });
    }
  }

  private fail(reason: string): void {
    if (this.failure !== null) return;
    this.failure = reason;
    this.warn(`feature precompute stopped (${reason}); the features step computes every session`);
    for (const answer of this.answers.values()) answer.resolve(undefined);
  }
}
