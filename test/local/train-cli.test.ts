/**
 * `npm run train`: on a small copy of data/daily (7 symbols + SPY, 2016-2018) with small settings,
 * prints the purged k-fold table of the last snapshot and the walk-forward table, writes a bundle
 * that parses and loads, and refuses bad arguments with exit code 2, naming the flag and value.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseModelBundle, type ModelBundle } from '../../lambdas/core/model/artifact';
import { DEFAULT_MODEL_FEATURES } from '../../lambdas/core/model/features';
import { loadRidge } from '../../lambdas/core/model/ridge';
import { main } from '../../local/train-cli';

const ROOT = resolve(import.meta.dirname, '../..');
const DAILY = join(ROOT, 'data/daily');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const SYMBOLS = ['AAPL', 'MSFT', 'JPM', 'XOM', 'PFE', 'KO', 'INTC'];

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { log: (l) => out.push(l), error: (l) => err.push(l) });
  return { code, out, err };
}

describe('npm run train', () => {
  let dir: string;
  let data: string;
  let outFile: string;
  let result: { code: number; out: string[]; err: string[] };
  let bundle: ModelBundle;
  const settings = ['--horizon', '5', '--folds', '3', '--embargo', '0.02', '--retrain-every', '42', '--min-train-sessions', '60', '--lambda', '500'];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'train-cli-'));
    data = join(dir, 'data');
    await mkdir(data);
    // Two years of bars: 2016-01-04 … 2018-02-07 (SPY ends 2017-12-29).
    for (const name of [...SYMBOLS.map((s) => `${s}_data.csv`), 'SPY.csv']) {
      const [header, ...rows] = readFileSync(join(DAILY, name), 'utf8').trim().split('\n');
      writeFileSync(join(data, name), [header, ...rows.filter((r) => r.slice(0, 10) >= '2016-01-01')].join('\n') + '\n');
    }
    outFile = join(dir, 'models', 'small.json');
    result = await run(['--data-dir', data, ...settings, '--out', outFile, '--name', 'small-ridge']);
    bundle = parseModelBundle(JSON.parse(readFileSync(outFile, 'utf8')));
  });

  it('exits 0 and prints the data summary, the purged k-fold table of the last snapshot and the walk-forward table with means', () => {
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    const text = result.out.join('\n');
    expect(text).toContain('benchmark: SPY from the data folder (2016-01-04..2017-12-29)');
    expect(text).toMatch(/data: 7 symbols, \d+ sessions 2016-01-04\.\.2018-02-07/);
    expect(text).toMatch(/purged 3-fold CV of the last snapshot small-ridge@2018-02-07 /);
    const header = result.out.findIndex((l) => /^fold\s+test dates\s+dates\s+train\s+test\s+purged\s+embargoed\s+IC\s+hit rate$/.test(l));
    expect(header).toBeGreaterThan(0);
    const rows = result.out.slice(header + 1, header + 4);
    const last = bundle.snapshots.at(-1)!;
    rows.forEach((line, k) => {
      const f = last.validation.folds[k]!;
      const cells = line.trim().split(/\s+/);
      expect(cells[0]).toBe(String(k + 1));
      expect(cells[1]).toBe(`${f.testFrom}..${f.testTo}`);
      expect(cells.slice(3, 7)).toEqual([f.trainSamples, f.testSamples, f.purged, f.embargoed].map(String));
      expect(Number(cells[7])).toBeCloseTo(f.ic, 4);
      expect(cells[8]).toBe(`${(f.hitRate * 100).toFixed(1)}%`);
    });
    expect(result.out[header + 4]).toMatch(/^mean\s+-?\d\.\d{4}\s+\d+\.\d%$/);
    const wfHeader = result.out.findIndex((l) => /^fold\s+as-of\s+test dates\s+train\s+test\s+purged\s+IC\s+hit rate$/.test(l));
    expect(wfHeader).toBeGreaterThan(header);
    expect(result.out.slice(wfHeader + 1, wfHeader + 1 + bundle.walkForward.length).every((l) => /^\s+\d+\s+\d{4}-\d{2}-\d{2}\s+\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}\s/.test(l))).toBe(true);
    expect(result.out[wfHeader + 1 + bundle.walkForward.length]).toMatch(/^mean\s+\d+\s+-?\d\.\d{4}\s+\d+\.\d%$/);
    expect(text).toMatch(/walk-forward IC: mean -?\d\.\d{4}, stdev \d\.\d{4} over \d+ folds/);
    expect(result.out.at(-1)).toMatch(new RegExp(`^wrote ${bundle.snapshots.length} snapshots \\(\\d+ KiB\\) to ${outFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} in \\d+\\.\\ds$`));
  });

  it('writes a bundle that parses and loads: snapshots every 42 sessions up to the last date, the flags in createdBy, 12 significant digits', () => {
    expect(bundle.name).toBe('small-ridge');
    expect(bundle.createdBy).toContain('--horizon 5 --folds 3 --embargo 0.02 --retrain-every 42 --min-train-sessions 60 --lambda 500');
    expect(bundle.snapshots.at(-1)!.trainingWindow.asOf).toBe('2018-02-07');
    expect(bundle.snapshots.length).toBeGreaterThanOrEqual(3);
    expect(bundle.walkForward.length).toBeGreaterThanOrEqual(1);
    for (const s of bundle.snapshots) {
      expect(s.format).toBe('ridge-v1');
      expect(s.features).toEqual([...DEFAULT_MODEL_FEATURES]);
      expect(s.validation.embargoFraction).toBe(0.02);
      expect(s.validation.folds).toHaveLength(3);
      expect((s.model as { lambda: number }).lambda).toBe(500);
      const predictor = loadRidge(s);
      const prediction = predictor.predict(new Float64Array(DEFAULT_MODEL_FEATURES.length).fill(Number.NaN), 1);
      expect(prediction[0]).toBe((s.model as { intercept: number }).intercept);
    }
    const text = readFileSync(outFile, 'utf8');
    const digits = [...text.matchAll(/-?\d+\.\d+(?:e-?\d+)?/g)].map((m) => m[0].replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, ''));
    expect(Math.max(...digits.map((d) => d.length))).toBeLessThanOrEqual(12);
    expect(text.startsWith('{\n  "schemaVersion": 1,')).toBe(true);
    // Atomic write: no temporary file left behind.
    expect(readdirSync(join(dir, 'models'))).toEqual(['small.json']);
  });

  it('--to sets the as-of date of the last snapshot', async () => {
    const out = join(dir, 'models-to', 'to.json');
    const r = await run(['--data-dir', data, ...settings, '--to', '2017-11-01', '--out', out]);
    expect(r.code).toBe(0);
    const b = parseModelBundle(JSON.parse(readFileSync(out, 'utf8')));
    expect(b.name).toBe('baseline-ridge-fwd5');
    expect(b.snapshots.at(-1)!.trainingWindow.asOf).toBe('2017-11-01');
    expect(b.snapshots.at(-1)!.id).toBe('baseline-ridge-fwd5@2017-11-01');
  });

  it('refuses bad arguments with exit code 2, naming the flag and the value, and writes nothing', async () => {
    const out = join(dir, 'bad', 'never.json');
    const cases: Array<[string[], RegExp]> = [
      [['--horizon', '0'], /--horizon must be an integer >= 1, got "0"/],
      [['--folds', '1'], /--folds must be an integer >= 2, got "1"/],
      [['--embargo', '0.005'], /--embargo must be a number in \[0.01, 0.5\] \(an embargo of at least 1% of the dates\), got "0.005"/],
      [['--retrain-every', 'x'], /--retrain-every must be an integer >= 1, got "x"/],
      [['--lambda=-1'], /--lambda must be a number >= 0, got "-1"/],
      [['--to', '2017-02-30'], /--to must be a date YYYY-MM-DD, got "2017-02-30"/],
      [['--name', 'a@b'], /--name must be letters, digits/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['--data-dir', join(dir, 'missing')], /--data-dir .*missing/],
      [['--min-train-sessions', '5000'], /fewer than minTrainSessions 5000/],
    ];
    for (const [args, message] of cases) {
      const r = await run(['--data-dir', data, ...settings, ...args, '--out', out]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.join('\n'), args.join(' ')).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });

  it('runs as `tsx local/train-cli.ts` (the npm script) and exits 2 on a bad flag', () => {
    const child = spawnSync(TSX, ['local/train-cli.ts', '--embargo', '0.001'], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
    expect(child.status).toBe(2);
    expect(child.stderr).toContain('--embargo must be a number in [0.01, 0.5]');
    expect(child.stderr).toContain('usage: npm run train');
  });
});
