/**
 * `npm run chaos -- --cases N [--seed S]`: runs N chaos cases (local/chaos/harness.ts) and ends by
 * printing `cases: N violations: V`, preceded by one line per violating case with its seed. Case i
 * uses seed S + i, so `--cases 1 --seed <that seed>` replays it alone.
 *
 * Exit codes: 0 with no violation, 1 with any, 2 for bad arguments.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { runChaosCase, scenarioArbitrary, startChaosEnvironment } from './harness';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function main(argv: string[]): Promise<number> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  let values;
  try {
    values = parseArgs({ args: argv, options: { cases: { type: 'string' }, seed: { type: 'string' } }, strict: true }).values;
  } catch (error) {
    console.error(`error: ${(error as Error).message}\nusage: npm run chaos -- --cases N [--seed S]`);
    return 2;
  }
  const cases = Number(values.cases ?? '100');
  const seed = Number(values.seed ?? Date.now() % 2 ** 31);
  if (!Number.isInteger(cases) || cases < 1) {
    console.error(`error: --cases must be a whole number >= 1, got "${values.cases}"`);
    return 2;
  }
  if (!Number.isInteger(seed) || seed < 0) {
    console.error(`error: --seed must be a whole number >= 0, got "${values.seed}"`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tp-chaos-'));
  const { env, stop } = await startChaosEnvironment({
    dataDir: join(ROOT, 'data/daily'),
    calendarFile: join(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv'),
    dynamoDir: join(dir, 'dynamodb'),
  });
  let violations = 0;
  let orders = 0;
  let faults = 0;
  try {
    for (let i = 0; i < cases; i++) {
      const caseSeed = seed + i;
      const [scenario] = fc.sample(scenarioArbitrary, { seed: caseSeed, numRuns: 1 });
      const result = await runChaosCase(env, scenario!);
      orders += result.ordersAtBroker;
      faults += result.faults;
      if (result.violations.length > 0) {
        violations += 1;
        console.log(`violation seed=${caseSeed}: ${result.violations.join(' | ')}`);
      }
    }
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`seeds ${seed}..${seed + cases - 1}: ${orders} entry orders reached the broker, ${faults} faults injected`);
  console.log(`cases: ${cases} violations: ${violations}`);
  return violations === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`chaos failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 2;
  },
);
