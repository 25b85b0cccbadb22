/**
 * The real `npm start` path, end to end: the CLI in a child process, the ASL file executed by
 * aws-local-stepfunctions, dynalite, the paper broker and the bundled data. Each test gets its own
 * state directory.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Dec } from '../../lambdas/core/money';
import type { RangeReport, SessionReport } from '../../local/report';
import { FilePaperAccountStore } from '../../lambdas/adapters/broker/paper/stores';

/** The paper account of a state directory, read through its store (account file and history). */
async function paperAccount(stateDir: string) {
  const account = await new FilePaperAccountStore(join(stateDir, 'paper-account.json')).load();
  if (!account) throw new Error(`no paper account in ${stateDir}`);
  return account;
}

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): CliResult {
  const result = spawnSync(TSX, ['local/cli.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tp-${prefix}-`));
}

function runSession(stateDir: string, extra: string[] = []): { result: CliResult; report: SessionReport } {
  const reportFile = join(stateDir, `report-${Math.random().toString(36).slice(2)}.json`);
  const result = cli(['--state-dir', stateDir, '--report', reportFile, ...extra]);
  if (result.status !== 0) throw new Error(`npm start failed (${result.status}):\n${result.stderr}\n${result.stdout}`);
  return { result, report: JSON.parse(readFileSync(reportFile, 'utf8')) as SessionReport };
}

describe('npm start: one trading day through the state machine', { timeout: 240_000 }, () => {
  const stateDir = tempDir('day');
  let first: { result: CliResult; report: SessionReport };

  beforeAll(() => {
    first = runSession(stateDir);
  });

  it('trades the latest session the bundled data can decide (SPY, which the regime filter needs, ends 2017-12-29) over a 50+ symbol universe', () => {
    const { report, result } = first;
    expect(report.tradingDate).toBe('2018-01-02');
    expect(result.stdout).toContain('note: the benchmark SPY ends 2017-12-29; the regime filter needs it, so the default session is 2018-01-02');
    expect(report.universe.length).toBeGreaterThanOrEqual(50);
    expect(report.killSwitch).toBe('ARMED');
    expect(report.tradingState).toBe('ACTIVE');
    expect(report.orders.length).toBeGreaterThan(0);
    expect(report.orders.every((o) => o.submittedThisRun)).toBe(true);
    expect(result.stdout).toContain('Decisions:');
    expect(result.stdout).toContain('Positions:');
  });

  it('every decision records allowed and a reason', () => {
    for (const d of first.report.decisions) {
      expect(typeof d.allowed).toBe('boolean');
      expect(d.reason).toMatch(/^[A-Z_]+: /);
    }
  });

  it('orders respect the limits: risk per trade, position size, open positions, cash buffer', () => {
    const { report } = first;
    const equity = new Dec(report.decisionEquity!);
    expect(report.orders.length).toBeLessThanOrEqual(10);
    let spent = new Dec(0);
    for (const o of report.orders) {
      const notional = new Dec(o.qty).times(o.limitPrice!);
      const risk = new Dec(o.qty).times(new Dec(o.limitPrice!).minus(o.stopLossPrice!));
      expect(notional.lte(equity.times(0.1)), `${o.symbol} value ${notional} > 10% NAV`).toBe(true);
      expect(risk.lte(equity.times(0.005)), `${o.symbol} risk ${risk} > 0.5% NAV`).toBe(true);
      spent = spent.plus(notional);
    }
    expect(spent.lte(equity.times(0.97)), `spent ${spent} dips into the 3% cash buffer`).toBe(true);
  });

  it('each entry order carries its stop-loss, and every position is protected by a working stop', () => {
    const { report } = first;
    for (const o of report.orders) {
      expect(o).toMatchObject({ side: 'buy', type: 'limit', orderClass: 'oto', timeInForce: 'gtc' });
      expect(o.stopLossPrice).not.toBeNull();
      expect(o.stopLossPrice!).toBeLessThan(o.limitPrice!);
      expect(o.clientOrderId.length).toBeLessThanOrEqual(48);
    }
    expect(report.positions.length).toBeGreaterThan(0);
    const stopBySymbol = new Map(report.orders.map((o) => [o.symbol, o.stopLossPrice]));
    for (const p of report.positions) expect(p.stopLossPrice).toBe(stopBySymbol.get(p.symbol));
    expect(report.reconciliation.unprotected).toEqual([]);
  });

  it('fills happen against the session bar and the ledger agrees with the broker', () => {
    const { report } = first;
    const filled = report.orders.filter((o) => o.status === 'filled');
    expect(report.fills.filter((f) => f.purpose === 'entry').length).toBe(filled.length);
    for (const f of report.fills.filter((f) => f.purpose === 'entry')) {
      const order = report.orders.find((o) => o.clientOrderId === f.clientOrderId)!;
      expect(f.price).toBeLessThanOrEqual(order.limitPrice!);
    }
    expect(report.reconciliation).toMatchObject({ matched: true, mismatches: [] });
    expect(report.alerts.filter((a) => a.severity === 'CRITICAL')).toEqual([]);
  });

  it('rerunning the same date is a duplicate of the slot: it trades nothing, and the ledger and broker still agree', async () => {
    const again = runSession(stateDir, ['--date', '2018-01-02']);
    expect(again.report.duplicateOf).toBe(first.report.runId);
    expect(again.result.stdout).toMatch(/DUPLICATE: execution .* owns this session.s slot/);
    expect(again.report.orders.map((o) => o.clientOrderId).sort()).toEqual(first.report.orders.map((o) => o.clientOrderId).sort());
    expect(again.report.orders.every((o) => o.submittedThisRun === false)).toBe(true);
    expect(again.report.decisions).toEqual(first.report.decisions);
    expect(again.report.positions).toEqual(first.report.positions);
    expect(again.report.cash).toBe(first.report.cash);
    expect(again.report.reconciliation.matched).toBe(true);
    const account = await paperAccount(stateDir);
    expect(account.state.orders.filter((o) => o.parentId === null)).toHaveLength(first.report.orders.length);
  });

  it('refuses to replay a date before the account has already traded (exit 2, names the problem)', () => {
    const result = cli(['--state-dir', stateDir, '--date', '2017-12-28']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/already traded through 2018-01-02; cannot run 2017-12-28/);
  });
});

describe('npm start: the kill switch stops new risk', { timeout: 120_000 }, () => {
  it('HALTED submits no entry, reports every refusal, and still exits 0', () => {
    const { report } = runSession(tempDir('halted'), ['--kill-switch', 'HALTED']);
    expect(report.killSwitch).toBe('HALTED');
    expect(report.tradingState).toBe('HALTED');
    expect(report.orders).toEqual([]);
    expect(report.fills).toEqual([]);
    expect(report.positions).toEqual([]);
    expect(report.decisions.length).toBeGreaterThan(0);
    for (const d of report.decisions) {
      expect(d.allowed).toBe(false);
      expect(d.reason).toMatch(/^KILL_SWITCH: kill switch is HALTED/);
    }
  });

  it('an unreadable kill-switch parameter fails closed to HALTED', () => {
    const stateDir = tempDir('corrupt-switch');
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, 'kill-switch.json'), '{ this is not json');
    const { report } = runSession(stateDir);
    expect(report.killSwitch).toBe('HALTED');
    expect(report.orders).toEqual([]);
    expect(report.alerts.some((a) => a.type === 'KILL_SWITCH_UNREADABLE' && a.severity === 'HIGH')).toBe(true);
  });
});

describe('npm start: bad market data is quarantined and the run goes on', { timeout: 120_000 }, () => {
  it('quarantines the broken symbol with a reason naming date and field', () => {
    const dataDir = tempDir('data');
    for (const symbol of ['MSFT', 'JPM', 'BAC', 'NVDA', 'AMZN']) {
      copyFileSync(join(ROOT, 'data/daily', `${symbol}_data.csv`), join(dataDir, `${symbol}_data.csv`));
    }
    // AAPL with one row inside the decision window whose close is outside the day's range.
    const lines = readFileSync(join(ROOT, 'data/daily/AAPL_data.csv'), 'utf8').trimEnd().split('\n');
    const idx = lines.findIndex((l) => l.startsWith('2017-12-15,'));
    const [date, open, high, low] = lines[idx]!.split(',');
    lines[idx] = [date, open, high, low, '1.23', '1000', 'AAPL'].join(',');
    writeFileSync(join(dataDir, 'AAPL.csv'), `${lines.join('\n')}\n`);

    // The folder has no SPY: the run borrows the bundled one (ending 2017-12-29), so it decides 2018-01-02.
    const { report } = runSession(tempDir('quarantine'), ['--data-dir', dataDir]);
    expect(report.tradingDate).toBe('2018-01-02');
    expect(report.benchmark).toBe('SPY');
    expect(report.universe).toEqual(['AAPL', 'AMZN', 'BAC', 'JPM', 'MSFT', 'NVDA']);
    expect(report.quarantined).toHaveLength(1);
    expect(report.quarantined[0]!.symbol).toBe('AAPL');
    expect(report.quarantined[0]!.reason).toMatch(/^BAD_BARS: 2017-12-15 close 1\.23 is outside \[low .*, high .*\]/);
    expect(report.decisions.some((d) => d.symbol === 'AAPL')).toBe(false);
    expect(report.decisions.length).toBeGreaterThan(0);
    expect(report.alerts.some((a) => a.type === 'DATA_QUARANTINE')).toBe(true);
  });

  it('loads the shared S&P 500 folder layout (SYMBOL_data.csv with a Name column) via --data-dir', () => {
    // The bundled folder uses the same naming and header as ../shared/data/sp500-daily-2013-2018.
    const { report } = runSession(tempDir('symbols'), ['--symbols', 'AAPL,MSFT,SPY', '--date', '2017-06-01']);
    expect(report.tradingDate).toBe('2017-06-01');
    expect(report.universe).toEqual(['AAPL', 'MSFT']);
    expect(report.benchmark).toBe('SPY');
    expect(report.quarantined).toEqual([]);
  });
});

describe('npm start --from/--to: one execution per session on one account', { timeout: 240_000 }, () => {
  it('writes a range report with every session and a summary', () => {
    const stateDir = tempDir('range');
    const reportFile = join(stateDir, 'range.json');
    // Regime filter off: the bundled SPY ends 2017-12-29, so it would refuse every 2018 entry as stale.
    const result = cli(['--state-dir', stateDir, '--from', '2018-01-26', '--to', '2018-02-07', '--report', reportFile], {
      STRATEGY_CONFIG: JSON.stringify({ regimeFilter: false }),
    });
    expect(result.status, result.stderr).toBe(0);
    const range = JSON.parse(readFileSync(reportFile, 'utf8')) as RangeReport;
    expect(range.days.map((d) => d.tradingDate)).toEqual([
      '2018-01-26', '2018-01-29', '2018-01-30', '2018-01-31', '2018-02-01', '2018-02-02', '2018-02-05', '2018-02-06', '2018-02-07',
    ]);
    expect(range.summary.sessions).toBe(9);
    expect(range.summary.endingEquity).toBe(range.days[8]!.equity);
    for (const day of range.days) {
      expect(day.reconciliation.matched).toBe(true);
      expect(day.reconciliation.unprotected).toEqual([]);
      expect(day.positions.length).toBeLessThanOrEqual(10);
    }
    // Entries once placed are never placed again on later days.
    const ids = range.days.flatMap((d) => d.orders.filter((o) => o.submittedThisRun).map((o) => o.clientOrderId));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('npm start: unfilled entries are cancelled after the close, confirmed with the broker', { timeout: 240_000 }, () => {
  it('cancels entries that did not fill in their session, with their stop legs, and keeps every position protected', async () => {
    const stateDir = tempDir('cancels');
    const reportFile = join(stateDir, 'range.json');
    // Limit at the last close (no 50 bps allowance): some sessions open higher and never come back.
    const result = cli(['--state-dir', stateDir, '--from', '2018-01-02', '--to', '2018-01-05', '--report', reportFile], {
      STRATEGY_CONFIG: JSON.stringify({ entryLimitBps: 0, regimeFilter: false }),
    });
    expect(result.status, result.stderr).toBe(0);
    const range = JSON.parse(readFileSync(reportFile, 'utf8')) as RangeReport;
    const cancels = range.days.flatMap((d) => d.reconciliation.cancels);
    expect(cancels.length).toBeGreaterThan(0);
    for (const day of range.days) {
      for (const c of day.reconciliation.cancels) {
        expect(c.outcome).toBe('canceled');
        expect(day.orders.find((o) => o.clientOrderId === c.clientOrderId)?.status).toBe('canceled');
        expect(day.positions.some((p) => p.symbol === c.symbol && day.fills.some((f) => f.clientOrderId === c.clientOrderId))).toBe(false);
      }
      expect(day.reconciliation.matched).toBe(true);
      expect(day.reconciliation.unprotected).toEqual([]);
    }
    // At the broker, a cancelled entry's stop-loss leg is cancelled with it (never left working).
    const account = await paperAccount(stateDir);
    const canceledIds = new Set(account.state.orders.filter((o) => cancels.some((c) => c.clientOrderId === o.clientOrderId)).map((o) => o.id));
    const legs = account.state.orders.filter((o) => o.parentId !== null && canceledIds.has(o.parentId));
    expect(legs.length).toBe(canceledIds.size);
    expect(legs.every((l) => l.status === 'canceled')).toBe(true);
  });
});

describe('npm start: bad arguments exit 2 with a message naming the problem', { timeout: 120_000 }, () => {
  it.each([
    [['--date', '2018-02-10'], /--date 2018-02-10 is not an NYSE session \(weekend or holiday\); next session 2018-02-12/],
    [['--date', '2018-02-30'], /--date must be a real date YYYY-MM-DD, got "2018-02-30"/],
    [['--date', '2018-03-01'], /no market data for that session \(data ends 2018-02-07\)/],
    [['--kill-switch', 'OFF'], /--kill-switch must be one of ARMED\|REDUCE_ONLY\|HALTED, got "OFF"/],
    [['--data-dir', '/nonexistent/dir'], /--data-dir \/nonexistent\/dir is not a readable directory/],
    [['--symbols', 'AAPL,NOPE'], /--symbols: no data file for NOPE/],
    [['--from', '2018-02-01'], /--from and --to go together/],
    [['--date', '2018-02-07', '--from', '2018-02-01', '--to', '2018-02-07'], /either --date or --from\/--to/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--fault-profile', 'evil'], /--fault-profile must be one of none\|flaky\|hostile, got "evil"/],
    [['--seed', 'abc'], /--seed must be a whole number 0..999999999, got "abc"/],
    [['--broker', 'ib'], /--broker must be paper or alpaca, got "ib"/],
  ])('%j', (args, message) => {
    const result = cli(['--state-dir', tempDir('args'), ...args]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe('npm start --fault-profile: seeded faults, reproducible, never a doubled order', { timeout: 300_000 }, () => {
  const range = ['--from', '2018-01-29', '--to', '2018-02-07', '--symbols', 'AAPL,AMZN,BA,INTC,MSFT,NVDA,UNH,V'];
  const run = async (seed: string) => {
    const stateDir = tempDir(`faults-${seed}`);
    const reportFile = join(stateDir, 'report.json');
    // Regime filter off: the bundled SPY ends 2017-12-29, so it would refuse every 2018 entry as stale.
    const result = cli(['--state-dir', stateDir, '--report', reportFile, '--fault-profile', 'hostile', '--seed', seed, ...range], {
      STRATEGY_CONFIG: JSON.stringify({ regimeFilter: false }),
    });
    const account = await paperAccount(stateDir);
    return { result, report: JSON.parse(readFileSync(reportFile, 'utf8')) as RangeReport, account };
  };
  const strip = (r: RangeReport) =>
    r.days.map((d) => ({
      orders: d.orders.map(({ submittedThisRun: _s, ...o }) => o),
      fills: d.fills,
      positions: d.positions,
      cash: d.cash,
      faults: d.faults,
      alerts: d.alerts.map((a) => a.type),
      failed: d.executionError !== null,
    }));

  it('injects faults; the same seed reproduces the same run, another seed differs; failures are reported, never doubled orders', async () => {
    const a = await run('7');
    const b = await run('7');
    const c = await run('8');
    for (const r of [a, b, c]) {
      // 0, or 1 when an execution failed under the faults: every session still ran and was reported.
      expect([0, 1], r.result.stderr).toContain(r.result.status);
      expect(r.report.days.map((d) => d.tradingDate)).toEqual(['2018-01-29', '2018-01-30', '2018-01-31', '2018-02-01', '2018-02-02', '2018-02-05', '2018-02-06', '2018-02-07']);
      for (const d of r.report.days.filter((x) => x.executionError)) expect(d.alerts.map((x) => x.type)).toContain('PIPELINE_FAILED');
      expect(r.result.status === 1).toBe(r.report.days.some((d) => d.executionError));
      const ids = r.account.state.orders.map((o) => o.clientOrderId);
      expect(new Set(ids).size).toBe(ids.length);
    }
    const injected = a.report.days.reduce((n, d) => n + Object.values(d.faults).reduce((x, y) => x + y, 0), 0);
    expect(injected).toBeGreaterThan(0);
    expect(a.result.stdout).toMatch(/injected faults \d+/);
    expect(strip(b.report)).toEqual(strip(a.report));
    expect(strip(c.report)).not.toEqual(strip(a.report));
  });
});
