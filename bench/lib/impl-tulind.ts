/**
 * npm `tulind` (Tulip Indicators through a nan native addon) for the 10-indicator comparison.
 *
 * Loading: `require('tulind')` first (node-pre-gyp looks for lib/binding/Release/node-v<ABI>-…); when
 * that fails, every `tulind.node` found under node_modules/tulind/lib/binding/ (then build/Release/) is
 * required directly and `callbyindex` is wrapped here. A .node file only loads in a Node whose
 * NODE_MODULE_VERSION matches the headers it was compiled with; the errors are collected, not thrown.
 *
 * The JS API takes plain arrays (it rejects typed arrays) and allocates every result array: the
 * inputs are converted once per series BEFORE timing (the advantage of data already in its format);
 * the result allocation is part of what is measured, as it cannot be avoided through this API.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Series } from './synthetic';

/** What the raw addon exports (tulind.cpp). */
interface RawBinding {
  callbyindex(index: number, inputs: number[][], options: number[], callback: (err: unknown, result: number[][] | null) => void): void;
  startbyindex(index: number, options: number[]): number;
  indicators: Record<string, { index?: number; indicator?: unknown }>;
  version: string;
}

/** What `require('tulind')` exports (index.js). */
interface PackageApi {
  indicators: Record<string, { indicator(inputs: number[][], options: number[], callback: (err: unknown, result: number[][] | null) => void): void; start(options: number[]): number }>;
  version: string;
}

/** Synchronous call of one indicator: returns its output arrays (each of length n − start). */
export type TulindCall = (inputs: number[][], options: number[]) => number[][];

export interface Tulind {
  version: string;
  /** How it was loaded: `require('tulind')` or the .node path. */
  from: string;
  call(name: string): TulindCall;
  start(name: string, options: number[]): number;
}

export type TulindLoad = { ok: true; tulind: Tulind; errors: string[] } | { ok: false; errors: string[] };

/** Every tulind.node under node_modules/tulind/lib/binding/ (any ABI folder), then build/Release/. */
export function tulindNodeFiles(repoRoot: string): string[] {
  const base = join(repoRoot, 'node_modules', 'tulind');
  const found: string[] = [];
  const bindingDir = join(base, 'lib', 'binding');
  if (existsSync(bindingDir)) {
    for (const rel of readdirSync(bindingDir, { recursive: true }) as string[]) {
      if (rel.endsWith('tulind.node')) found.push(join(bindingDir, rel));
    }
  }
  found.sort();
  const built = join(base, 'build', 'Release', 'tulind.node');
  if (existsSync(built)) found.push(built);
  return found;
}

/** The error's message on one line (a NODE_MODULE_VERSION mismatch explains itself on lines 2–3). */
function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).replace(/\s*\n\s*/g, ' ').slice(0, 400);
}

/** Tries the package, then each .node file; never throws. */
export function loadTulind(repoRoot: string): TulindLoad {
  const req = createRequire(join(repoRoot, 'package.json'));
  const errors: string[] = [];
  try {
    const api = req('tulind') as PackageApi;
    return {
      ok: true,
      errors,
      tulind: {
        version: api.version,
        from: "require('tulind')",
        call: (name) => {
          const ind = api.indicators[name];
          if (ind === undefined) throw new Error(`tulind has no indicator ${name}`);
          return syncCall((inputs, options, cb) => ind.indicator(inputs, options, cb));
        },
        start: (name, options) => (api.indicators[name] as PackageApi['indicators'][string]).start(options),
      },
    };
  } catch (error) {
    errors.push(`require('tulind'): ${firstLine(error)}`);
  }
  for (const file of tulindNodeFiles(repoRoot)) {
    try {
      const raw = req(file) as RawBinding;
      if (typeof raw.callbyindex !== 'function') throw new Error('no callbyindex export');
      const index = (name: string): number => {
        const i = raw.indicators[name]?.index;
        if (typeof i !== 'number') throw new Error(`tulind has no indicator ${name}`);
        return i;
      };
      return {
        ok: true,
        errors,
        tulind: {
          version: raw.version,
          from: file,
          call: (name) => {
            const i = index(name);
            return syncCall((inputs, options, cb) => raw.callbyindex(i, inputs, options, cb));
          },
          start: (name, options) => raw.startbyindex(index(name), options),
        },
      };
    } catch (error) {
      errors.push(`${file}: ${firstLine(error)}`);
    }
  }
  if (errors.length === 1) errors.push('no tulind.node file under node_modules/tulind/lib/binding/ or build/Release/');
  return { ok: false, errors };
}

/** The addon calls its callback synchronously; this turns it into a plain function. */
function syncCall(
  invoke: (inputs: number[][], options: number[], cb: (err: unknown, result: number[][] | null) => void) => void,
): TulindCall {
  let out: number[][] | null = null;
  let failure: unknown = null;
  const cb = (err: unknown, result: number[][] | null): void => {
    failure = err;
    out = result;
  };
  return (inputs, options) => {
    out = null;
    invoke(inputs, options, cb);
    if (failure !== null || out === null) throw new Error(`tulind call failed: ${String(failure ?? 'no result')}`);
    return out;
  };
}

/** One series' inputs as plain arrays, in the argument lists tulind wants (built once per series). */
export interface TulindInputs {
  close: number[][];
  hlc: number[][];
  closeVolume: number[][];
}

export function toTulindInputs(s: Series): TulindInputs {
  const high = Array.from(s.high);
  const low = Array.from(s.low);
  const close = Array.from(s.close);
  const volume = Array.from(s.volume);
  return { close: [close], hlc: [high, low, close], closeVolume: [close, volume] };
}

/** The 10 indicators, same parameters as the engine (bbands outputs lower, middle, upper). */
export function makeTulindPass(t: Tulind, inputs: readonly TulindInputs[]): () => number {
  const sma = t.call('sma');
  const ema = t.call('ema');
  const rsi = t.call('rsi');
  const macd = t.call('macd');
  const atr = t.call('atr');
  const bbands = t.call('bbands');
  const adx = t.call('adx');
  const stoch = t.call('stoch');
  const obv = t.call('obv');
  const cci = t.call('cci');
  const o20 = [20];
  const o14 = [14];
  const oMacd = [12, 26, 9];
  const oBb = [20, 2];
  const oStoch = [14, 3, 3];
  const oNone: number[] = [];
  return () => {
    let check = 0;
    for (const x of inputs) {
      const a = sma(x.close, o20)[0] as number[];
      ema(x.close, o20);
      rsi(x.close, o14);
      macd(x.close, oMacd);
      atr(x.hlc, o14);
      bbands(x.close, oBb);
      const d = adx(x.hlc, o14)[0] as number[];
      stoch(x.hlc, oStoch);
      obv(x.closeVolume, oNone);
      const c = cci(x.hlc, o20)[0] as number[];
      check += (a[a.length - 1] as number) + (d[d.length - 1] as number) + (c[c.length - 1] as number);
    }
    return check;
  };
}

/** Largest |engine − tulind| over the bars both define (tulind's outputs are aligned to the end). */
export interface Agreement {
  name: string;
  compared: number;
  maxAbsDiff: number;
  /** max(diff) − min(diff): ~0 with a large maxAbsDiff means a constant offset (a start convention). */
  diffSpread: number;
}

export function agreement(name: string, engine: Float64Array, tulind: readonly number[]): Agreement {
  const shift = engine.length - tulind.length;
  let compared = 0;
  let maxAbsDiff = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < tulind.length; j++) {
    const e = engine[j + shift] as number;
    const t = tulind[j] as number;
    if (!Number.isFinite(e) || !Number.isFinite(t)) continue;
    const d = e - t;
    compared++;
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(d));
    lo = Math.min(lo, d);
    hi = Math.max(hi, d);
  }
  return { name, compared, maxAbsDiff, diffSpread: compared > 0 ? hi - lo : Number.NaN };
}
