/**
 * Builds bench/tulip-c/bench.c with node_modules/tulind/external/tiamalgamation.c into a temp dir
 * (gcc, at bench time; no binary is ever kept in the repo) and runs it on the synthetic data file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TulipCResult {
  label: string;
  flags: string[];
  ti_version: string;
  warmup_s: number;
  median_s: number;
  passes_s: number[];
  /** Median seconds of each indicator alone over all series (sma, ema, rsi, macd, atr, bbands, adx, stoch, obv, cci). */
  per_indicator_s: Record<string, number>;
  checksum: number;
}

export type TulipCOutcome = { ok: true; label: string; flags: string[]; result: TulipCResult } | { ok: false; label: string; flags: string[]; reason: string };

/** `cflags`/`cflags_c` of node_modules/tulind/binding.gyp's target (it declares none as of 0.8.20). */
export function bindingGypFlags(repoRoot: string): string[] {
  try {
    const gyp = JSON.parse(readFileSync(join(repoRoot, 'node_modules/tulind/binding.gyp'), 'utf8')) as {
      targets?: { cflags?: string[]; cflags_c?: string[] }[];
    };
    const target = gyp.targets?.[0];
    return [...(target?.cflags ?? []), ...(target?.cflags_c ?? [])];
  } catch {
    return [];
  }
}

/**
 * The C flags node-gyp actually used for the tulind addon's Release build (its defaults: -O3
 * -fno-omit-frame-pointer -fPIC -m64 -pthread -W…), read from build/tulind.target.mk; null when the
 * addon was not built from source here.
 */
export function addonBuildFlags(repoRoot: string): string[] | null {
  const mk = join(repoRoot, 'node_modules/tulind/build/tulind.target.mk');
  if (!existsSync(mk)) return null;
  const lines = readFileSync(mk, 'utf8').split('\n');
  const block = (name: string): string[] => {
    const start = lines.findIndex((line) => line.startsWith(`${name} :=`));
    if (start === -1) return [];
    const flags: string[] = [];
    for (let i = start + 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const flag = line.replace(/\\$/, '').trim();
      if (flag !== '') flags.push(flag);
      if (!line.endsWith('\\')) break;
    }
    return flags;
  };
  const flags = [...block('CFLAGS_Release'), ...block('CFLAGS_C_Release')].filter((f) => !f.startsWith('-W'));
  return flags.length > 0 ? flags : null;
}

export function gccVersion(): string | null {
  const r = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : null;
}

/** Compiles one variant into `tmpDir` and runs it; never throws. */
export function runTulipC(
  repoRoot: string,
  tmpDir: string,
  label: string,
  flags: string[],
  dataFile: string,
  series: number,
  bars: number,
  passes: number,
  indicatorPasses: number,
): TulipCOutcome {
  const external = join(repoRoot, 'node_modules/tulind/external');
  const amalgamation = join(external, 'tiamalgamation.c');
  if (!existsSync(amalgamation)) return { ok: false, label, flags, reason: `${amalgamation} not found` };
  const bin = join(tmpDir, `tulip-bench-${label}`);
  const args = [...flags, '-I', external, join(repoRoot, 'bench/tulip-c/bench.c'), amalgamation, '-lm', '-o', bin];
  const cc = spawnSync('gcc', args, { encoding: 'utf8' });
  if (cc.error) return { ok: false, label, flags, reason: `gcc not runnable: ${cc.error.message}` };
  if (cc.status !== 0) return { ok: false, label, flags, reason: `gcc failed (${cc.status}): ${cc.stderr.trim().slice(0, 500)}` };
  const run = spawnSync(bin, [dataFile, String(series), String(bars), String(passes), String(indicatorPasses)], { encoding: 'utf8' });
  if (run.status !== 0) return { ok: false, label, flags, reason: `bench program failed (${run.status}): ${run.stderr.trim()}` };
  try {
    const out = JSON.parse(run.stdout.trim().split('\n').pop() as string) as Omit<TulipCResult, 'label' | 'flags'>;
    return { ok: true, label, flags, result: { label, flags, ...out } };
  } catch (error) {
    return { ok: false, label, flags, reason: `unreadable output ${JSON.stringify(run.stdout)}: ${(error as Error).message}` };
  }
}
