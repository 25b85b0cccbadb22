/**
 * The backtest report as one self-contained HTML file: settings and metrics, the equity curve
 * against the benchmark, the drawdown, a monthly-returns heat-map, the trades and every risk
 * decision with its reason.
 *
 * Self-contained means it opens from `file://` with no network: Chart.js (the UMD build from
 * `node_modules/chart.js`) is inlined in a `<script>`, the series go in a
 * `<script type="application/json">` block, styles are inline, and a Content-Security-Policy
 * (`default-src 'none'`) makes the browser refuse any fetch the document might still attempt.
 * Charts use a category axis of session dates (no date adapter) with animation off, so they are
 * drawn synchronously; once they are built the page sets `window.__reportReady = true` and puts the
 * Chart.js instances on `window.__charts` (`{ equity, drawdown }`) for tests and automation.
 *
 * The module has no clock: the generation timestamp is passed in. `renderHtmlReport` only reads the
 * Chart.js file (the same bytes every time); the series helpers below are pure and exported for tests.
 *
 * Units: money in USD; dates are New York session dates `YYYY-MM-DD`; rebased series are index
 * points (100 = the level before the first session); drawdowns and heat-map values are shown in
 * percent, while `monthlyReturns[].ret` comes in as a fraction.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/** What the report shows. Every text field is escaped when rendered; none may contain HTML. */
export interface HtmlReportData {
  /** Document title and heading, e.g. "Backtest 2015-01-02 .. 2017-12-29". */
  title: string;
  /** First and last session of the run (YYYY-MM-DD, New York). */
  from: string;
  to: string;
  /** ISO timestamp of the generation, passed in by the caller (this module reads no clock). */
  generatedAt: string;
  /** Run settings shown in the header: costs (commission per share USD, slippage bps), model id, initial cash, universe size, … */
  settings: { label: string; value: string }[];
  /** One row per session, in date order: equity and cash in USD at the end of the session, the benchmark close (USD) or null when unknown. */
  days: { date: string; equity: number; cash: number; benchmarkClose: number | null }[];
  /** Equity (USD) before the first session: the base of the rebased curve and the first peak of the drawdown. */
  initialEquity: number;
  /** Benchmark ticker, e.g. "SPY". */
  benchmarkSymbol: string;
  /** Benchmark close (USD) of the session before `from`, or null (the curve is then rebased on its first known close). */
  benchmarkStart: number | null;
  /** Metrics, already formatted, shown grouped by `group` in order of first appearance; `formula` explains the value. */
  metrics: { group: string; label: string; value: string; formula: string }[];
  /** Compounded return of each calendar month (`month` 1–12), as a fraction (0.012 = +1.2 %). */
  monthlyReturns: { year: number; month: number; ret: number }[];
  /** Closed trades, prices and P&L already formatted; `returnPct` is the trade's return in percent (2.5 = +2.5 %). */
  trades: {
    symbol: string;
    entryDate: string;
    exitDate: string;
    qty: string;
    entryPrice: string;
    exitPrice: string;
    pnl: string;
    returnPct: number;
    exitKind: string;
  }[];
  /** Every risk decision of the run (may be thousands: all are rendered), with the rule code and the reason. */
  riskDecisions: { date: string; symbol: string; kind: string; allowed: boolean; rule: string; reason: string }[];
}

/** Line colours of the charts (also what a pixel test looks for). */
export const REPORT_COLORS = {
  equity: '#2563eb',
  benchmark: '#f59e0b',
  drawdown: '#dc2626',
} as const;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** Escapes text for HTML element content and quoted attribute values (`&`, `<`, `>`, `"`, `'`). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON for a `<script type="application/json">` block: every `<` (so `</script>` and `<!--` cannot
 * end or confuse the block), `>` and `&` are written as `\u003c`, `\u003e`, `\u0026`, and the line
 * separators U+2028/U+2029 as escapes; `JSON.parse` of the block's text gives back the value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Equity rebased to 100 before the first session: `equity / initialEquity × 100`, one point per session. */
export function rebaseEquity(days: readonly { equity: number }[], initialEquity: number): number[] {
  if (!(Number.isFinite(initialEquity) && initialEquity > 0)) throw new Error(`initialEquity must be a positive number, got ${initialEquity}`);
  return days.map((d) => (d.equity * 100) / initialEquity);
}

/**
 * Benchmark closes rebased to 100: `close / benchmarkStart × 100`, or, when `benchmarkStart` is null,
 * on the first non-null close (that session is then 100). Sessions without a close stay null (a gap).
 */
export function rebaseBenchmark(days: readonly { benchmarkClose: number | null }[], benchmarkStart: number | null): (number | null)[] {
  if (benchmarkStart !== null && !(Number.isFinite(benchmarkStart) && benchmarkStart > 0)) {
    throw new Error(`benchmarkStart must be a positive number or null, got ${benchmarkStart}`);
  }
  const base = benchmarkStart ?? days.find((d) => d.benchmarkClose !== null && d.benchmarkClose > 0)?.benchmarkClose ?? null;
  return days.map((d) => (base === null || d.benchmarkClose === null ? null : (d.benchmarkClose * 100) / base));
}

/**
 * Drawdown of the equity in percent, one point per session: `(equity / running peak − 1) × 100`,
 * where the running peak starts at `initialEquity` and includes every session so far. Always ≤ 0.
 */
export function drawdownSeries(days: readonly { equity: number }[], initialEquity: number): number[] {
  if (!(Number.isFinite(initialEquity) && initialEquity > 0)) throw new Error(`initialEquity must be a positive number, got ${initialEquity}`);
  let peak = initialEquity;
  return days.map((d) => {
    if (d.equity > peak) peak = d.equity;
    return ((d.equity - peak) * 100) / peak;
  });
}

/** One row of the heat-map: the year, its 12 monthly returns (fractions, null when absent) and their compounded total. */
export interface HeatmapYear {
  year: number;
  /** Index 0 = January. */
  months: (number | null)[];
  /** Product of (1 + r) over the months present, minus 1 (fraction), or null when no month is present. */
  total: number | null;
  /** Months present in the year. */
  count: number;
}

/** The heat-map grid, years ascending, with the colour scales (largest absolute monthly and yearly return, floored at 0.5 %). */
export interface Heatmap {
  years: HeatmapYear[];
  monthScale: number;
  yearScale: number;
}

/**
 * Builds the year × month grid from the monthly returns.
 *
 * @throws Error for a month outside 1–12, a non-integer year, a non-finite return, or the same
 *   month given twice.
 */
export function monthlyHeatmap(monthlyReturns: readonly { year: number; month: number; ret: number }[]): Heatmap {
  const byYear = new Map<number, HeatmapYear>();
  for (const { year, month, ret } of monthlyReturns) {
    if (!Number.isInteger(year)) throw new Error(`monthlyReturns: year must be an integer, got ${year}`);
    if (!Number.isInteger(month) || month < 1 || month > 12) throw new Error(`monthlyReturns: month must be 1-12, got ${month} (${year})`);
    if (!Number.isFinite(ret)) throw new Error(`monthlyReturns: ret must be a finite fraction, got ${ret} (${year}-${month})`);
    let row = byYear.get(year);
    if (!row) {
      row = { year, months: new Array<number | null>(12).fill(null), total: null, count: 0 };
      byYear.set(year, row);
    }
    if (row.months[month - 1] !== null) throw new Error(`monthlyReturns: ${year}-${String(month).padStart(2, '0')} given twice`);
    row.months[month - 1] = ret;
    row.count += 1;
  }
  const years = [...byYear.values()].sort((a, b) => a.year - b.year);
  for (const row of years) {
    row.total = row.count === 0 ? null : row.months.reduce<number>((acc, r) => (r === null ? acc : acc * (1 + r)), 1) - 1;
  }
  const floor = 0.005;
  const monthScale = monthlyReturns.reduce((acc, m) => Math.max(acc, Math.abs(m.ret)), floor);
  const yearScale = years.reduce((acc, y) => Math.max(acc, Math.abs(y.total ?? 0)), floor);
  return { years, monthScale, yearScale };
}

/**
 * Diverging colour of a return on a scale: white at 0, towards red for a loss and green for a
 * gain, saturating at `|ret| = scale` (kept light enough for dark text). Returns `rgb(r, g, b)`.
 */
export function heatColor(ret: number, scale: number): string {
  const t = Math.min(1, Math.abs(ret) / (scale > 0 ? scale : 1)) * 0.8;
  const target = ret < 0 ? [220, 38, 38] : [22, 163, 74];
  const [r, g, b] = target.map((c) => Math.round(255 + (c - 255) * (ret === 0 ? 0 : t)));
  return `rgb(${r}, ${g}, ${b})`;
}

/** A fraction as a signed percentage with one decimal, e.g. 0.0123 → "+1.2%". */
function pct1(fraction: number): string {
  const v = fraction * 100;
  const s = Math.abs(v).toFixed(1);
  return `${v > 0 && s !== '0.0' ? '+' : v < 0 && s !== '0.0' ? '−' : ''}${s}%`;
}

let chartJsSource: string | undefined;

/**
 * The Chart.js UMD bundle, read once. The package's `exports` map does not expose
 * `dist/chart.umd.js`, so the bundle is found next to the resolved main entry (`dist/chart.cjs`).
 */
function chartJs(): string {
  if (chartJsSource === undefined) {
    const main = createRequire(import.meta.url).resolve('chart.js');
    const source = readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
    // Inlined as the text of a <script>: these sequences would end or derail the element.
    if (/<\/script|<!--/i.test(source)) throw new Error('chart.umd.js contains </script or <!--: cannot inline it safely');
    chartJsSource = source;
  }
  return chartJsSource;
}

/** Series handed to the page script (the JSON block). */
interface ChartPayload {
  labels: string[];
  equity: number[];
  benchmark: (number | null)[];
  drawdown: number[];
  benchmarkSymbol: string;
  colors: typeof REPORT_COLORS;
}

const STYLE = `
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#fff;--pos:#15803d;--neg:#b91c1c}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:13px;margin:0 0 6px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.sub{color:var(--muted);margin:0}
table{border-collapse:collapse}
th,td{padding:3px 8px;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid var(--line);font-weight:600;white-space:nowrap}
tbody td,tbody th{border-bottom:1px solid var(--line)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.kv th{font-weight:500;color:var(--muted);padding-left:0}
.groups{display:flex;flex-wrap:wrap;gap:16px 32px;align-items:flex-start}
.group{min-width:280px}
.formula{display:block;font-size:11px;color:var(--muted)}
.chart{position:relative;height:340px;width:100%}
#heatmap td,#heatmap tbody th{text-align:right;min-width:56px;font-variant-numeric:tabular-nums;border:1px solid #fff}
#heatmap td.total{font-weight:600;border-left:3px solid #fff}
#heatmap td.none{background:#f9fafb}
#heatmap th{text-align:center}
.pos{color:var(--pos)}
.neg{color:var(--neg)}
.scroll{max-height:560px;overflow:auto;border:1px solid var(--line)}
.scroll table{width:100%}
.scroll thead th{position:sticky;top:0;background:var(--bg)}
tr.rejected td.decision{color:var(--neg);font-weight:600}
tr.allowed td.decision{color:var(--pos)}
#risk-table.rejections-only tr.allowed{display:none}
.controls{margin:0 0 8px}
.empty{color:var(--muted);font-style:italic}
`;

/** The page script: builds both charts from the JSON block, wires the filter, then flags readiness. */
const APP = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var fmt = function (v, d) { return v === null || v === undefined ? 'n/a' : Number(v).toFixed(d); };
  var xAxis = { type: 'category', ticks: { autoSkip: true, maxTicksLimit: 12, maxRotation: 0 }, grid: { display: false } };
  var base = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    elements: { point: { radius: 0, hoverRadius: 3 }, line: { tension: 0, borderWidth: 2 } },
  };
  var equity = new Chart(document.getElementById('equity-chart'), {
    type: 'line',
    data: {
      labels: data.labels,
      datasets: [
        { label: 'Strategy', data: data.equity, borderColor: data.colors.equity, backgroundColor: data.colors.equity },
        { label: data.benchmarkSymbol + ' (buy & hold)', data: data.benchmark, borderColor: data.colors.benchmark, backgroundColor: data.colors.benchmark, spanGaps: true },
      ],
    },
    options: Object.assign({}, base, {
      scales: { x: xAxis, y: { title: { display: true, text: 'Index (100 = start)' } } },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + fmt(c.parsed.y, 2); } } } },
    }),
  });
  var drawdown = new Chart(document.getElementById('drawdown-chart'), {
    type: 'line',
    data: {
      labels: data.labels,
      datasets: [
        { label: 'Drawdown (%)', data: data.drawdown, borderColor: data.colors.drawdown, backgroundColor: 'rgba(220, 38, 38, 0.18)', fill: 'origin' },
      ],
    },
    options: Object.assign({}, base, {
      scales: { x: xAxis, y: { max: 0, title: { display: true, text: 'Drawdown (%)' }, ticks: { callback: function (v) { return v + '%'; } } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) { return 'Drawdown: ' + fmt(c.parsed.y, 2) + '%'; } } } },
    }),
  });

  var table = document.getElementById('risk-table');
  var toggle = document.getElementById('rejections-only');
  var count = document.getElementById('risk-count');
  var total = table.tBodies[0].rows.length;
  var rejected = table.tBodies[0].querySelectorAll('tr.rejected').length;
  var apply = function () {
    table.classList.toggle('rejections-only', toggle.checked);
    count.textContent = 'Showing ' + (toggle.checked ? rejected : total) + ' of ' + total + ' decisions (' + rejected + ' rejected)';
  };
  toggle.addEventListener('change', apply);
  apply();

  window.__charts = { equity: equity, drawdown: drawdown };
  window.__reportReady = true;
})();
`;

/**
 * Renders the whole report document (HTML5, UTF-8). Deterministic: the same data gives the same
 * bytes. Contains no URL that a browser would load: no CDN, font or image references.
 *
 * @throws Error for invalid series input (see `rebaseEquity`, `rebaseBenchmark`, `monthlyHeatmap`),
 *   or when the Chart.js bundle cannot be found.
 */
export function renderHtmlReport(data: HtmlReportData): string {
  for (const d of data.days) {
    if (!Number.isFinite(d.equity)) throw new Error(`days: equity must be a finite number, got ${d.equity} on ${d.date}`);
  }
  const equity = rebaseEquity(data.days, data.initialEquity);
  const benchmark = rebaseBenchmark(data.days, data.benchmarkStart);
  const drawdown = drawdownSeries(data.days, data.initialEquity);
  const heatmap = monthlyHeatmap(data.monthlyReturns);
  const payload: ChartPayload = {
    labels: data.days.map((d) => d.date),
    equity,
    benchmark,
    drawdown,
    benchmarkSymbol: data.benchmarkSymbol,
    colors: REPORT_COLORS,
  };
  const e = escapeHtml;
  const last = data.days.at(-1);
  const lastBench = [...benchmark].reverse().find((v) => v !== null) ?? null;
  const maxDd = drawdown.reduce((acc, v) => Math.min(acc, v), 0);

  const settings = data.settings.map((s) => `<tr><th scope="row">${e(s.label)}</th><td>${e(s.value)}</td></tr>`).join('\n');

  const groups = new Map<string, HtmlReportData['metrics']>();
  for (const m of data.metrics) {
    const list = groups.get(m.group) ?? [];
    list.push(m);
    groups.set(m.group, list);
  }
  const metrics = [...groups]
    .map(
      ([group, list]) =>
        `<div class="group"><h3>${e(group)}</h3><table class="metrics"><tbody>\n` +
        list
          .map((m) => `<tr title="${e(m.formula)}"><th scope="row">${e(m.label)}<span class="formula">${e(m.formula)}</span></th><td class="num">${e(m.value)}</td></tr>`)
          .join('\n') +
        `\n</tbody></table></div>`,
    )
    .join('\n');

  const heatRows = heatmap.years
    .map((y) => {
      const cells = y.months.map((ret, i) =>
        ret === null
          ? `<td class="none" data-month="${i + 1}"></td>`
          : `<td class="cell ${ret > 0 ? 'up' : ret < 0 ? 'down' : 'flat'}" data-month="${i + 1}" data-ret="${ret}" style="background:${heatColor(ret, heatmap.monthScale)}" title="${MONTHS[i]} ${y.year}: ${e(pct1(ret))}">${e(pct1(ret))}</td>`,
      );
      const total =
        y.total === null
          ? `<td class="total none"></td>`
          : `<td class="total ${y.total > 0 ? 'up' : y.total < 0 ? 'down' : 'flat'}" data-ret="${y.total}" style="background:${heatColor(y.total, heatmap.yearScale)}" title="${y.year}: compounded over ${y.count} month${y.count === 1 ? '' : 's'}">${e(pct1(y.total))}</td>`;
      return `<tr data-year="${y.year}"><th scope="row">${y.year}</th>${cells.join('')}${total}</tr>`;
    })
    .join('\n');

  const trades = data.trades
    .map(
      (t) =>
        `<tr><td>${e(t.symbol)}</td><td>${e(t.entryDate)}</td><td>${e(t.exitDate)}</td><td class="num">${e(t.qty)}</td><td class="num">${e(t.entryPrice)}</td><td class="num">${e(t.exitPrice)}</td><td class="num">${e(t.pnl)}</td><td class="num ${t.returnPct > 0 ? 'pos' : t.returnPct < 0 ? 'neg' : ''}">${e(pct1(t.returnPct / 100))}</td><td>${e(t.exitKind)}</td></tr>`,
    )
    .join('\n');

  const decisions = data.riskDecisions
    .map(
      (d) =>
        `<tr class="${d.allowed ? 'allowed' : 'rejected'}"><td>${e(d.date)}</td><td>${e(d.symbol)}</td><td>${e(d.kind)}</td><td class="decision">${d.allowed ? 'allowed' : 'rejected'}</td><td>${e(d.rule)}</td><td>${e(d.reason)}</td></tr>`,
    )
    .join('\n');

  const summary = [
    `${data.days.length} sessions`,
    last ? `strategy ${equity.at(-1)!.toFixed(2)}` : null,
    lastBench !== null ? `${e(data.benchmarkSymbol)} ${lastBench.toFixed(2)}` : null,
    `max drawdown ${maxDd.toFixed(2)}%`,
  ]
    .filter((s) => s !== null)
    .join(' · ');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<link rel="icon" href="data:,">
<title>${e(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${e(data.title)}</h1>
<p class="sub">Sessions ${e(data.from)} to ${e(data.to)} (New York) · generated ${e(data.generatedAt)}</p>
</header>

<section id="settings">
<h2>Settings</h2>
<table class="kv"><tbody>
${settings}
</tbody></table>
</section>

<section id="metrics">
<h2>Metrics</h2>
<div class="groups">
${metrics}
</div>
</section>

<section id="equity">
<h2>Equity vs ${e(data.benchmarkSymbol)}, rebased to 100</h2>
<p class="sub">Strategy: equity / initial equity × 100; ${e(data.benchmarkSymbol)}: close / close before the first session × 100. End: ${summary}.</p>
<div class="chart"><canvas id="equity-chart" role="img" aria-label="Equity curve versus ${e(data.benchmarkSymbol)}, rebased to 100"></canvas></div>
</section>

<section id="drawdown">
<h2>Drawdown</h2>
<p class="sub">Equity / running peak − 1, in percent (the peak starts at the initial equity).</p>
<div class="chart"><canvas id="drawdown-chart" role="img" aria-label="Drawdown of the equity in percent"></canvas></div>
</section>

<section id="monthly">
<h2>Monthly returns</h2>
<p class="sub">Compounded return per calendar month, in percent; the last column compounds the months shown.</p>
<table id="heatmap">
<thead><tr><th></th>${MONTHS.map((m) => `<th>${m}</th>`).join('')}<th>Year</th></tr></thead>
<tbody>
${heatRows}
</tbody>
</table>
</section>

<section id="trades">
<h2>Trades (${data.trades.length})</h2>
${data.trades.length === 0 ? '<p class="empty">No closed trades.</p>\n' : ''}<div class="scroll">
<table id="trades-table">
<thead><tr><th>Symbol</th><th>Entry</th><th>Exit</th><th class="num">Qty</th><th class="num">Entry price</th><th class="num">Exit price</th><th class="num">P&amp;L (USD)</th><th class="num">Return</th><th>Exit kind</th></tr></thead>
<tbody>
${trades}
</tbody>
</table>
</div>
</section>

<section id="risk">
<h2>Risk decisions (${data.riskDecisions.length})</h2>
<p class="controls"><label><input type="checkbox" id="rejections-only" autocomplete="off"> Rejections only</label> · <span id="risk-count"></span></p>
<div class="scroll">
<table id="risk-table">
<thead><tr><th>Date</th><th>Symbol</th><th>Kind</th><th>Decision</th><th>Rule</th><th>Reason</th></tr></thead>
<tbody>
${decisions}
</tbody>
</table>
</div>
</section>

<script type="application/json" id="report-data">${jsonForScript(payload)}</script>
<script>
${chartJs()}
</script>
<script>${APP}</script>
</body>
</html>
`;
}

let tempCounter = 0;

/**
 * Renders the report and writes it to `file` atomically (a temporary file in the same folder, then
 * a rename), creating the folder. Returns the absolute path written.
 */
export async function writeHtmlReport(file: string, data: HtmlReportData): Promise<string> {
  const target = resolve(file);
  const html = renderHtmlReport(data);
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.${++tempCounter}.tmp`;
  try {
    await writeFile(temp, html, 'utf8');
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return target;
}
