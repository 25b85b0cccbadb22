/** Options for runLocal over the bundled data and calendar, in a given state directory (tests only). */
import { join, resolve } from 'node:path';
import { parseStrategyConfig } from '../../lambdas/core/config';
import type { LocalRunOptions } from '../../local/runner';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Paper run of `sessions` with the strategy config `config` (defaults filled), 100,000 USD, silent. */
export function bundledRun(sessions: string[], config: unknown, stateDir: string, extra: Partial<LocalRunOptions> = {}): LocalRunOptions {
  return {
    sessions,
    dataDir: join(ROOT, 'data/daily'),
    stateDir,
    calendarFile: join(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv'),
    aslFile: join(ROOT, 'state-machines/trading-pipeline.asl.json'),
    config: parseStrategyConfig(config),
    initialCash: '100000',
    print: () => undefined,
    ...extra,
  };
}
