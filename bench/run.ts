/**
 * `npm run bench` (tsx bench/run.ts): speed of the feature engine against npm tulind, npm
 * technicalindicators and Tulip Indicators called from C, on the same machine and the same data,
 * plus the full feature set over the bundled S&P 500 history, plus the local replay (the whole
 * pipeline over the last 1,000 sessions of the bundled data). Prints figures and asserts nothing;
 * the LAST stdout line is one JSON object. See bench/README.md.
 *
 * Environment knobs: BENCH_PASSES (timed passes per implementation, default 5, minimum 5),
 * BENCH_TI_SERIES (series timed for technicalindicators; fewer than 500 are extrapolated to all 500; default all 500),
 * BENCH_KEEP_TMP=1 (keep the temp dir with the data file, bundles and C binaries),
 * BENCH_ONLY=fast (only the engine kernels vs Tulip C -O2 and the per-indicator breakdown, for quick
 * iteration: no full set, no tulind, no technicalindicators, no addon-flags C build, no replay),
 * BENCH_ONLY=replay (only the local replay: no engine, C, tulind, technicalindicators or full set),
 * BENCH_REPLAY_SESSIONS (sessions the replay runs, the last ones ending 2017-12-29; default 1000),
 * BENCH_WORKERS (worker threads for the full set on several cores, default os.availableParallelism()).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { loadFullSet, measureFullSet, type FullSetMeasure } from './lib/full-set';
import { measureFullSetWorkers, type FullSetWorkersMeasure } from './lib/full-set-workers';
import { INDICATOR_KEYS } from './lib/impl-engine';
import type { Agreement } from './lib/impl-tulind';
import { loadTulind } from './lib/impl-tulind';
import { makeTiPass, toTiInputs } from './lib/impl-technicalindicators';
import { measureEngine, measureTulind, type EngineMeasure, type TulindMeasure } from './lib/measure';
import { measureReplay, REPLAY_SESSIONS, REPLAY_TARGET_S, type ReplayMeasure } from './lib/replay';
import { generateSyntheticSet, seriesView, writeSyntheticSet } from './lib/synthetic';
import { timePasses } from './lib/timing';
import { addonBuildFlags, bindingGypFlags, gccVersion, runTulipC, type TulipCOutcome } from './lib/tulip-c';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KERNELS_TS = join(REPO, 'lambdas/core/feature-engine/kernels/ta.ts');
const ENGINE_TS = join(REPO, 'lambdas/core/feature-engine/engine.ts');
const FULL_SET_WORKER_TS = join(REPO, 'bench/full-set-worker.ts');

const SEED = 20130208;
const SERIES = 500;
const BARS = 2520;
const TOTAL_BARS = SERIES * BARS;
const PASSES = Math.max(5, Number.parseInt(process.env.BENCH_PASSES ?? '5', 10) || 5);
/**
 * The engine and C passes take well under 0.2 s: more of them cost little and make the median robust
 * to a busy machine (a preempted pass of a few ms would otherwise weigh a lot).
 */
const FAST_PASSES = Math.max(PASSES, 15);
/** Passes of each indicator alone (a few ms each) for the per-indicator breakdown. */
const INDICATOR_PASSES = Math.max(PASSES, 25);
/** BENCH_ONLY=fast: engine vs Tulip C (-O2) and the per-indicator breakdown only. */
const FAST_ONLY = process.env.BENCH_ONLY === 'fast';
/** BENCH_ONLY=replay: the local replay only. */
const REPLAY_ONLY = process.env.BENCH_ONLY === 'replay';
/** Sessions of the replay (BENCH_REPLAY_SESSIONS, default 1000). */
const REPLAY_N = Math.max(1, Number.parseInt(process.env.BENCH_REPLAY_SESSIONS ?? String(REPLAY_SESSIONS), 10) || REPLAY_SESSIONS);
/** Worker threads for the full set on several cores (BENCH_WORKERS, default: one per available core). */
const WORKERS = Math.max(1, Number.parseInt(process.env.BENCH_WORKERS ?? '', 10) || availableParallelism());
const TI_SERIES = Math.min(SERIES, Math.max(1, Number.parseInt(process.env.BENCH_TI_SERIES ?? String(SERIES), 10) || SERIES));

/** Targets of issue 5 §4. */
const TARGET_VS_TULIND = 15;
const TARGET_FULL_SET_S = 1;
const TARGET_VS_C = 1.3;

const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
const say = (line = ''): void => void process.stdout.write(`${line}\n`);
const round = (x: number | null, digits = 4): number | null => (x === null || !Number.isFinite(x) ? null : Number(x.toPrecision(digits)));
const fmtS = (s: number): string => (s < 0.1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(3)} s`);
const fmtRate = (bars: number, s: number): string => `${(bars / s / 1e6).toFixed(2)} M bars/s`;

interface Row {
  name: string;
  runtime: string;
  seconds: number | null;
  note: string;
  /** Engine figure this row's ratio is taken against (same runtime when possible). */
  versus?: number | null;
}

function printTable(rows: Row[], engineS: number | null): void {
  const header = ['implementation', 'runtime', 'median s', 'bars/s', 'vs engine', 'note'];
  const cells = rows.map((r) => {
    const against = r.versus === undefined ? engineS : r.versus;
    const ratio = r.seconds !== null && against !== null ? r.seconds / against : null;
    return [
      r.name,
      r.runtime,
      r.seconds === null ? '—' : r.seconds.toFixed(4),
      r.seconds === null ? '—' : fmtRate(TOTAL_BARS, r.seconds),
      ratio === null ? '—' : `${ratio.toFixed(2)}×`,
      r.note,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]): string => c.map((x, i) => x.padEnd(widths[i] as number)).join('  ').trimEnd();
  say(line(header));
  say(line(widths.map((w) => '-'.repeat(w))));
  for (const c of cells) say(line(c));
}

async function bundle(entry: string, outfile: string): Promise<void> {
  await build({ entryPoints: [entry], outfile, bundle: true, format: 'esm', platform: 'node', target: 'node18', logLevel: 'error' });
}

function nodeVersion(bin: string): string | null {
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The child's JSON line (bench/child.ts). */
interface ChildReport {
  node?: string;
  engine?: EngineMeasure | null;
  tulind?: TulindMeasure;
  fatal?: string;
}

interface ChildOutcome {
  node: string | null;
  engine: EngineMeasure | null;
  tulind: TulindMeasure;
}

/** Runs tulind (and the engine bundle) under another Node; tries each candidate until tulind loads. */
async function tulindInChild(tmp: string, dataFile: string, kernelsPresent: boolean): Promise<ChildOutcome> {
  const childMjs = join(tmp, 'child.mjs');
  await bundle(join(REPO, 'bench/child.ts'), childMjs);
  let kernelsBundle: string | null = null;
  if (kernelsPresent) {
    kernelsBundle = join(tmp, 'ta.mjs');
    await bundle(KERNELS_TS, kernelsBundle);
  }
  const candidates = [...new Set([process.env.npm_node_execpath, '/usr/bin/node'].filter((p): p is string => !!p && existsSync(p)))];
  const reasons: string[] = [];
  for (const bin of candidates) {
    const version = nodeVersion(bin);
    if (version === null) {
      reasons.push(`${bin}: not a runnable node`);
      continue;
    }
    if (version === process.version) {
      reasons.push(`${bin} is ${version}, the same Node as this process (already failed here)`);
      continue;
    }
    log(`tulind: running the child under ${bin} (${version}) ...`);
    const job = { repoRoot: REPO, dataFile, series: SERIES, bars: BARS, passes: PASSES, enginePasses: FAST_PASSES, kernelsBundle };
    const r = spawnSync(bin, [childMjs, JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60 * 1000 });
    const last = r.stdout?.trim().split('\n').pop() ?? '';
    let parsed: ChildReport;
    try {
      parsed = JSON.parse(last) as ChildReport;
    } catch {
      reasons.push(`${bin} (${version}): child exited ${r.status ?? r.signal} without a result: ${(r.stderr ?? '').trim().slice(0, 400)}`);
      continue;
    }
    if (parsed.tulind?.ok) return { node: parsed.node ?? version, engine: parsed.engine ?? null, tulind: parsed.tulind };
    reasons.push(`${bin} (${version}): ${parsed.fatal ?? (parsed.tulind?.ok === false ? parsed.tulind.reason : 'no result')}`);
  }
  if (candidates.length === 0) reasons.push('no other Node found (npm_node_execpath unset and no /usr/bin/node)');
  return { node: null, engine: null, tulind: { ok: false, reason: reasons.join(' | ') } };
}

async function main(): Promise<void> {
  const reasons: Record<string, string> = {};
  const tmp = mkdtempSync(join(tmpdir(), 'feature-bench-'));
  const loadAtStart = loadavg()[0] ?? Number.NaN;
  try {
    const cpu = cpus();
    say(`feature-engine benchmark — ${new Date().toISOString()}`);
    say(`node ${process.version} (${process.execPath}); ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    say(`method: 1 warm-up pass, then the median of ${PASSES} timed passes (tulind, technicalindicators, full set) or ${FAST_PASSES} (engine, Tulip C); ${INDICATOR_PASSES} per indicator in the breakdown`);
    const kernelsPresent = existsSync(KERNELS_TS);
    const enginePresent = existsSync(ENGINE_TS);

    // ---- 3. Full feature set over the S&P 500 data (first, so "cold" means a fresh process) -----
    let full: FullSetMeasure | null = null;
    let fullData: { symbols: number; sessions: number; totalBars: number } | null = null;
    let fullWorkers: FullSetWorkersMeasure | null = null;
    if (FAST_ONLY || REPLAY_ONLY) {
      reasons.full_set = `skipped (BENCH_ONLY=${process.env.BENCH_ONLY})`;
    } else if (!enginePresent) {
      reasons.full_set = `${ENGINE_TS} does not exist yet`;
    } else {
      try {
        log('full set: loading data/sp500-daily-2013-2018 and data/daily/SPY.csv (not timed) ...');
        const loaded = await loadFullSet(REPO);
        log(`full set: ${loaded.symbols.length} symbols, ${loaded.totalBars} bars, ${loaded.droppedRows} rows dropped, loaded in ${fmtS(loaded.loadS)}; timing FeatureEngine.compute ...`);
        full = await measureFullSet(ENGINE_TS, loaded, PASSES);
        // Keep only the figures: the columns go before the synthetic runs (smaller heap for the GC).
        fullData = { symbols: loaded.symbols.length, sessions: loaded.sessions, totalBars: loaded.totalBars };
        if (!full.ok) reasons.full_set = full.reason;
        // The same set spread across worker threads (after the single-thread figures, so their
        // "cold" is still the first pass of the process).
        if (full.ok) {
          log(`full set: timing the same set on ${WORKERS} worker threads ...`);
          fullWorkers = await measureFullSetWorkers({
            enginePath: ENGINE_TS,
            workerEntry: FULL_SET_WORKER_TS,
            tmp,
            data: loaded,
            columns: full.columns,
            passes: PASSES,
            workers: WORKERS,
            log,
          });
          if (!fullWorkers.ok) reasons.full_set_workers = fullWorkers.reason;
          else if (fullWorkers.mismatches > 0) reasons.full_set_workers_mismatch = `${fullWorkers.mismatches} symbol(s) differ from one thread: ${fullWorkers.mismatchExamples.join('; ')}`;
        } else {
          reasons.full_set_workers = 'not run: the single-thread full set failed';
        }
      } catch (error) {
        reasons.full_set = `cannot load the S&P data: ${(error as Error).message}`;
      }
    }

    // ---- 1. Synthetic set ---------------------------------------------------------------------
    const genStart = performance.now();
    // BENCH_ONLY=replay: an empty set (nothing below uses it).
    const set = generateSyntheticSet(SEED, REPLAY_ONLY ? 0 : SERIES, BARS);
    const dataFile = join(tmp, 'synthetic.f64');
    writeSyntheticSet(dataFile, set);
    if (!REPLAY_ONLY) log(`synthetic set: ${SERIES} × ${BARS} OHLCV bars (seed ${SEED}) generated in ${fmtS((performance.now() - genStart) / 1000)}`);

    // ---- 2a. Engine kernels, this Node ----------------------------------------------------------
    let kernels: unknown | null = null;
    let engine: EngineMeasure | null = null;
    if (REPLAY_ONLY) {
      reasons.engine = 'skipped (BENCH_ONLY=replay)';
    } else if (!kernelsPresent) {
      reasons.engine = `${KERNELS_TS} does not exist yet`;
    } else {
      try {
        kernels = await import(pathToFileURL(KERNELS_TS).href);
        log('engine: timing the 10 kernels ...');
        engine = measureEngine(kernels, set, FAST_PASSES, INDICATOR_PASSES);
        if (!engine.ok) reasons.engine = engine.reason;
      } catch (error) {
        reasons.engine = `cannot import ${KERNELS_TS}: ${(error as Error).message}`;
      }
    }
    const engineS = engine?.ok ? engine.timing.medianS : null;

    // ---- 2b. Tulip Indicators from C --------------------------------------------------------------
    const gcc = gccVersion();
    const gypFlags = bindingGypFlags(REPO);
    const cFlags = ['-O2', ...gypFlags];
    const addonFlags = addonBuildFlags(REPO);
    const cRuns: TulipCOutcome[] = [];
    if (REPLAY_ONLY) {
      reasons.tulip_c = 'skipped (BENCH_ONLY=replay)';
    } else if (gcc === null) {
      reasons.tulip_c = 'gcc not found on PATH';
    } else {
      log(`tulip C: compiling with ${gcc} ...`);
      cRuns.push(runTulipC(REPO, tmp, 'O2', cFlags, dataFile, SERIES, BARS, FAST_PASSES, INDICATOR_PASSES));
      if (!FAST_ONLY && addonFlags !== null && addonFlags.join(' ') !== cFlags.join(' ')) {
        cRuns.push(runTulipC(REPO, tmp, 'addon', addonFlags, dataFile, SERIES, BARS, FAST_PASSES, INDICATOR_PASSES));
      }
      const first = cRuns[0];
      if (first && !first.ok) reasons.tulip_c = first.reason;
    }
    const cMain = cRuns[0]?.ok ? cRuns[0].result : null;
    const cAddon = cRuns[1]?.ok ? cRuns[1].result : null;

    // ---- 2c. tulind: in this process if it loads, else in a child under the matching Node -------
    let tulind: TulindMeasure;
    let tulindNode: string | null = null;
    let engineTulindNode: EngineMeasure | null = null;
    if (FAST_ONLY || REPLAY_ONLY) {
      tulind = { ok: false, reason: `skipped (BENCH_ONLY=${process.env.BENCH_ONLY})` };
    } else {
      const inProcess = loadTulind(REPO);
      if (inProcess.ok) {
        log(`tulind: loaded in-process from ${inProcess.tulind.from}; timing ...`);
        tulind = measureTulind(inProcess, set, PASSES, kernels);
        tulindNode = process.version;
        engineTulindNode = engine;
      } else {
        log(`tulind: does not load in ${process.version} (${inProcess.errors[0] ?? '?'}${inProcess.errors.length > 1 ? ` (+${inProcess.errors.length - 1} more candidate(s) failing)` : ''}); trying another Node`);
        try {
          const child = await tulindInChild(tmp, dataFile, kernels !== null);
          tulind = child.tulind;
          tulindNode = child.node;
          engineTulindNode = child.engine;
        } catch (error) {
          tulind = { ok: false, reason: `tulind child failed: ${(error as Error).message}` };
        }
        if (!tulind.ok) tulind = { ok: false, reason: `in ${process.version}: ${inProcess.errors.join('; ')} | ${tulind.reason}` };
      }
    }
    if (!tulind.ok) reasons.tulind = tulind.reason;
    if (engineTulindNode !== null && !engineTulindNode.ok) reasons.engine_tulind_node = engineTulindNode.reason;
    const tulindS = tulind.ok ? tulind.timing.medianS : null;
    const engineTulindNodeS = engineTulindNode?.ok ? engineTulindNode.timing.medianS : null;

    // ---- 2d. technicalindicators (subset + extrapolation when slow) ------------------------------
    // A fixed subset (the first TI_SERIES series) keeps runs comparable; every series has the same
    // length, so the extrapolation is linear.
    let tiS: number | null = null;
    const tiSeriesMeasured = TI_SERIES;
    if (FAST_ONLY || REPLAY_ONLY) {
      reasons.technicalindicators = `skipped (BENCH_ONLY=${process.env.BENCH_ONLY})`;
    } else {
      try {
        log(`technicalindicators: timing ${tiSeriesMeasured} of ${SERIES} series per pass ...`);
        const inputs = Array.from({ length: tiSeriesMeasured }, (_, s) => toTiInputs(seriesView(set, s)));
        const tiTiming = timePasses(makeTiPass(inputs), PASSES);
        tiS = (tiTiming.medianS * SERIES) / tiSeriesMeasured;
      } catch (error) {
        reasons.technicalindicators = (error as Error).message;
      }
    }
    const tiExtrapolated = tiS !== null && tiSeriesMeasured < SERIES;

    // ---- 4. The local replay (last, so the figures above keep their fresh-process "cold") -------
    let replay: ReplayMeasure | null = null;
    if (FAST_ONLY) {
      reasons.replay = 'skipped (BENCH_ONLY=fast)';
    } else {
      replay = await measureReplay(REPO, { sessions: REPLAY_N, log });
      if (!replay.ok) reasons.replay = replay.reason;
      else if (replay.failedExecutions > 0) reasons.replay_failed_executions = `${replay.failedExecutions} execution(s) failed`;
    }

    // ---- Report -------------------------------------------------------------------------------
    if (!REPLAY_ONLY) {
    say();
    say(`10-indicator set (SMA20, EMA20, RSI14, MACD 12/26/9, ATR14, BB 20/2, ADX14, Stoch 14/3/3, OBV, CCI20)`);
    say(`over ${SERIES} synthetic series × ${BARS} bars = ${TOTAL_BARS.toLocaleString('en-US')} bars; "vs engine" = other ÷ engine seconds (> 1: engine faster)`);
    say();
    const rows: Row[] = [
      { name: 'engine (kernels/ta.ts)', runtime: process.version, seconds: engineS, note: engineS === null ? (reasons.engine ?? '') : 'outputs preallocated, reused' },
    ];
    if (tulindNode !== null && tulindNode !== process.version) {
      rows.push({ name: 'engine (esbuild bundle)', runtime: tulindNode, seconds: engineTulindNodeS, versus: engineTulindNodeS, note: engineTulindNodeS === null ? (reasons.engine_tulind_node ?? 'not run') : 'same Node as tulind' });
    }
    rows.push({
      name: 'tulind (npm)',
      runtime: tulindNode ?? '—',
      seconds: tulindS,
      note: tulind.ok ? `inputs pre-converted to arrays (${fmtS(tulind.prepareS)}, untimed); results allocated by its API` : 'skipped, see below',
    });
    if (tulindS !== null && engineTulindNodeS !== null && tulindNode !== process.version) {
      rows.push({ name: '  tulind vs engine, same Node', runtime: tulindNode ?? '—', seconds: tulindS, versus: engineTulindNodeS, note: 'ratio against the engine row above run in the same Node' });
    }
    rows.push({
      name: 'technicalindicators (npm)',
      runtime: process.version,
      seconds: tiS,
      note: tiS === null ? (FAST_ONLY ? 'skipped, see below' : 'failed, see below') : tiExtrapolated ? `EXTRAPOLATED from ${tiSeriesMeasured} of ${SERIES} series (× ${(SERIES / tiSeriesMeasured).toFixed(1)})` : 'all series',
    });
    for (const c of cRuns) {
      rows.push({ name: `Tulip C (${c.label})`, runtime: 'gcc', seconds: c.ok ? c.result.median_s : null, note: `${c.flags.join(' ')}${c.ok ? '' : ` — ${c.reason}`}` });
    }
    if (cRuns.length === 0) rows.push({ name: 'Tulip C', runtime: '—', seconds: null, note: reasons.tulip_c ?? 'skipped' });
    printTable(rows, engineS);

    // Per-indicator breakdown, engine vs Tulip C (-O2): where the 1.3× target is won or lost.
    if (engine?.ok && cMain !== null) {
      say();
      say(`per indicator, each alone over all ${SERIES} series (median of ${INDICATOR_PASSES}): engine ${process.version} vs Tulip C ${cMain.label}`);
      const rowsPer = INDICATOR_KEYS.map((key) => {
        const e = engine.perIndicatorS[key] ?? Number.NaN;
        const c = cMain.per_indicator_s[key] ?? Number.NaN;
        return [key, fmtS(e), fmtS(c), `${(e / c).toFixed(2)}×`];
      });
      const head = ['indicator', 'engine', 'Tulip C', 'engine ÷ C'];
      const w = head.map((h, i) => Math.max(h.length, ...rowsPer.map((r) => (r[i] as string).length)));
      const line = (c: string[]): string => c.map((x, i) => x.padEnd(w[i] as number)).join('  ').trimEnd();
      say(line(head));
      for (const r of rowsPer) say(line(r));
    }

    say();
    if (gcc !== null) {
      say(`Tulip C: ${gcc}; TI ${cMain?.ti_version ?? '?'}; flags "${cFlags.join(' ')}" (-O2 + binding.gyp cflags: ${gypFlags.length ? gypFlags.join(' ') : 'none declared'})`);
      if (addonFlags !== null) say(`         the tulind addon itself was built by node-gyp with "${addonFlags.join(' ')}" (row "Tulip C (addon)")`);
    }
    if (tulind.ok) {
      say(`tulind ${tulind.version} loaded from ${tulind.from} under ${tulindNode}`);
      if (tulind.sanity !== null) {
        const fmt = (a: Agreement): string =>
          `${a.name} max|Δ|=${a.maxAbsDiff.toExponential(2)}${a.maxAbsDiff > 1e-6 && a.diffSpread < 1e-6 * Math.max(1, a.maxAbsDiff) ? ' (constant offset: start convention)' : ''} over ${a.compared}`;
        say(`sanity (series 0, engine vs tulind): ${tulind.sanity.map(fmt).join('; ')}`);
      } else if (tulind.sanityError) {
        say(`sanity check failed: ${tulind.sanityError}`);
      }
    }
    }

    // Targets.
    const vsTulind = engineS !== null && tulindS !== null ? tulindS / engineS : null;
    const vsTulindSame = engineTulindNodeS !== null && tulindS !== null ? tulindS / engineTulindNodeS : null;
    const vsC = engineS !== null && cMain !== null ? cMain.median_s / engineS : null;
    const overC = engineS !== null && cMain !== null ? engineS / cMain.median_s : null;
    const mark = (ok: boolean | null): string => (ok === null ? 'n/a' : ok ? 'met' : 'NOT met');
    say();
    say('targets (issue 5 §4, and the replay):');
    if (!REPLAY_ONLY) {
    say(`  engine ≥ ${TARGET_VS_TULIND}× faster than npm tulind: ${vsTulind === null ? 'n/a' : `${vsTulind.toFixed(1)}× (engine ${process.version} vs tulind ${tulindNode})`}${vsTulindSame === null ? '' : `, ${vsTulindSame.toFixed(1)}× same Node ${tulindNode}`} → ${mark(vsTulind === null ? null : vsTulind >= TARGET_VS_TULIND)}`);
    say(`  engine_s ≤ ${TARGET_VS_C} × tulip_c_s: ${overC === null ? 'n/a' : `engine_s / tulip_c_s = ${overC.toFixed(2)}`} → ${mark(overC === null ? null : overC <= TARGET_VS_C)}`);
    if (full?.ok && fullData !== null) {
      say(`  full set ${fullData.symbols} × ${fullData.sessions} under ${TARGET_FULL_SET_S} s warm: ${full.warmS.toFixed(3)} s warm, ${full.coldS.toFixed(3)} s cold (first pass), ${full.columns} columns, ${fullData.totalBars.toLocaleString('en-US')} bars, one thread → ${mark(full.warmS < TARGET_FULL_SET_S)}`);
      say(`  incremental next session (resume from cached JSON states, one new row per symbol): ${(full.incrementalS * 1000).toFixed(1)} ms for all symbols; resumed rows differing from a full recompute: ${full.incrementalMismatches}`);
    } else {
      say(`  full set: n/a (${reasons.full_set ?? 'not run'})`);
    }
    if (fullWorkers?.ok) {
      const speedUp = full?.ok ? full.warmS / fullWorkers.warmS : null;
      say(`  full set on ${fullWorkers.workers} worker threads: ${fullWorkers.warmS.toFixed(3)} s warm${speedUp === null ? '' : ` (speed-up ${speedUp.toFixed(2)}× over one thread)`}, ${fullWorkers.coldS.toFixed(3)} s cold (first pass on fresh workers); each worker's own compute ${fullWorkers.workerComputeS.map((x) => x.toFixed(3)).join(' / ')} s; messaging overhead ${(fullWorkers.overheadS * 1000).toFixed(2)} ms/pass and worker imbalance ${(fullWorkers.imbalanceS * 1000).toFixed(1)} ms/pass, both inside the figure; start-up ${fullWorkers.setupS.toFixed(3)} s untimed; symbols differing from one thread (last values every pass, all values once): ${fullWorkers.mismatches}`);
    } else if (fullWorkers !== null || reasons.full_set_workers !== undefined) {
      say(`  full set on worker threads: n/a (${reasons.full_set_workers ?? 'not run'})`);
    }
    }
    if (replay?.ok) {
      say(
        `  replay ${replay.sessions.toLocaleString('en-US')} sessions (${replay.from}..${replay.to}, whole pipeline, paper broker, dynalite) under ${REPLAY_TARGET_S} s for 1,000: ` +
          `${replay.seconds.toFixed(1)} s, ${replay.sessionsPerS.toFixed(1)} sessions/s, ${replay.msPerSession.toFixed(1)} ms/session ` +
          `(${replay.ordersSubmitted} orders, ${replay.fills} fills, ending equity ${replay.endingEquity}, failed executions ${replay.failedExecutions}; ` +
          `feature rows ${replay.featureRows ? `${replay.featureRows.precomputed} precomputed on the second thread, ${replay.featureRows.computed} computed in the step` : 'all computed in the step'}) → ` +
          `${mark(replay.sessions === REPLAY_SESSIONS ? replay.seconds < REPLAY_TARGET_S : (replay.msPerSession * REPLAY_SESSIONS) / 1000 < REPLAY_TARGET_S)}${replay.sessions === REPLAY_SESSIONS ? '' : ' (extrapolated to 1,000 sessions)'}`,
      );
    } else {
      say(`  replay: n/a (${reasons.replay ?? 'not run'})`);
    }
    for (const [what, why] of Object.entries(reasons)) say(`skipped/failed ${what}: ${why}`);
    if (!REPLAY_ONLY) say('speed comparison only: MACD/EMA seeding and other conventions differ between implementations (see bench/README.md)');

    const result = {
      bars: TOTAL_BARS,
      series: SERIES,
      bars_per_series: BARS,
      seed: SEED,
      passes: PASSES,
      fast_passes: FAST_PASSES,
      engine_s: round(engineS),
      tulind_s: round(tulindS),
      technicalindicators_s: round(tiS),
      technicalindicators_extrapolated: tiS === null ? null : tiExtrapolated,
      technicalindicators_series_timed: tiS === null ? null : tiSeriesMeasured,
      tulip_c_s: round(cMain?.median_s ?? null),
      tulip_c_flags: cMain ? cFlags.join(' ') : null,
      tulip_c_addon_flags_s: round(cAddon?.median_s ?? null),
      engine_tulind_node_s: round(engineTulindNodeS),
      engine_vs_tulind: round(vsTulind, 3),
      engine_vs_tulind_same_node: round(vsTulindSame, 3),
      engine_vs_technicalindicators: round(engineS !== null && tiS !== null ? tiS / engineS : null, 3),
      engine_vs_tulip_c: round(vsC, 3),
      engine_over_tulip_c: round(overC, 3),
      engine_over_tulip_c_target: TARGET_VS_C,
      full_set_symbols: fullData?.symbols ?? null,
      full_set_sessions: fullData?.sessions ?? null,
      full_set_bars: fullData?.totalBars ?? null,
      full_set_columns: full?.ok ? full.columns : null,
      full_set_s: round(full?.ok ? full.warmS : null),
      full_set_cold_s: round(full?.ok ? full.coldS : null),
      full_set_incremental_s: round(full?.ok ? full.incrementalS : null),
      full_set_incremental_mismatches: full?.ok ? full.incrementalMismatches : null,
      full_set_workers: fullWorkers?.workers ?? null,
      full_set_workers_s: round(fullWorkers?.ok ? fullWorkers.warmS : null),
      full_set_workers_cold_s: round(fullWorkers?.ok ? fullWorkers.coldS : null),
      full_set_workers_speedup: round(fullWorkers?.ok && full?.ok ? full.warmS / fullWorkers.warmS : null, 3),
      full_set_workers_overhead_s: round(fullWorkers?.ok ? fullWorkers.overheadS : null),
      full_set_workers_setup_s: round(fullWorkers?.ok ? fullWorkers.setupS : null),
      full_set_workers_mismatches: fullWorkers?.ok ? fullWorkers.mismatches : null,
      replay_sessions: replay?.ok ? replay.sessions : null,
      replay_from: replay?.ok ? replay.from : null,
      replay_to: replay?.ok ? replay.to : null,
      replay_s: round(replay?.ok ? replay.seconds : null),
      replay_sessions_per_s: round(replay?.ok ? replay.sessionsPerS : null),
      replay_ms_per_session: round(replay?.ok ? replay.msPerSession : null),
      replay_feature_rows_precomputed: replay?.ok ? (replay.featureRows?.precomputed ?? 0) : null,
      replay_feature_rows_computed: replay?.ok ? (replay.featureRows?.computed ?? null) : null,
      replay_failed_executions: replay?.ok ? replay.failedExecutions : null,
      replay_target_s: REPLAY_TARGET_S,
      node: process.version,
      tulind_node: tulind.ok ? tulindNode : null,
      load_avg_1m: [round(loadAtStart, 3), round(loadavg()[0] ?? Number.NaN, 3)],
      ...(Object.keys(reasons).length > 0 ? { skipped: reasons } : {}),
    };
    say(JSON.stringify(result));
  } finally {
    if (process.env.BENCH_KEEP_TMP === '1') log(`temp files kept in ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
