/**
 * The property: random schedules of runs, step retries, duplicated and concurrent executions,
 * kill-switch flips and seeded broker faults (none|flaky|hostile) never break the invariants
 * I1–I4 of local/chaos/harness.ts. CI runs 1,000 cases with the fixed seed of test/setup.ts
 * (override with FC_SEED; CHAOS_CASES changes the count). A failure prints fast-check's seed and
 * the shrunk scenario; `npm run chaos -- --cases N --seed S` explores further.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChaosCase, scenarioArbitrary, startChaosEnvironment, type ChaosEnvironment } from '../../local/chaos/harness';

const ROOT = resolve(__dirname, '../..');
const CASES = Number(process.env.CHAOS_CASES ?? 1000);

describe('chaos: safety invariants under faults, retries and duplicate executions', () => {
  let env: ChaosEnvironment;
  let stop: () => Promise<void>;
  const dir = mkdtempSync(join(tmpdir(), 'tp-chaos-test-'));
  const totals = { orders: 0, faults: 0, cases: 0 };

  beforeAll(async () => {
    ({ env, stop } = await startChaosEnvironment({
      dataDir: join(ROOT, 'data/daily'),
      calendarFile: join(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv'),
      dynamoDir: join(dir, 'dynamodb'),
    }));
  });
  afterAll(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`holds I1 (one order per client_order_id), I2 (ledger = broker), I3 (stops or a report) and I4 (nothing sent while halted) over ${CASES} cases`, { timeout: 30 * 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (scenario) => {
        const result = await runChaosCase(env, scenario);
        totals.cases += 1;
        totals.orders += result.ordersAtBroker;
        totals.faults += result.faults;
        expect(result.violations).toEqual([]);
      }),
      { numRuns: CASES },
    );
    // The schedules must actually trade and actually inject faults, or the property proves nothing.
    expect(totals.orders).toBeGreaterThan(CASES);
    expect(totals.faults).toBeGreaterThan(CASES);
  });
});
