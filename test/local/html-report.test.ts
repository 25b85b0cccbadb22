import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  drawdownSeries,
  escapeHtml,
  heatColor,
  jsonForScript,
  monthlyHeatmap,
  rebaseBenchmark,
  rebaseEquity,
  renderHtmlReport,
  REPORT_COLORS,
  writeHtmlReport,
  type HtmlReportData,
} from '../../local/html-report';
import { prng } from '../support/prng';

const ROOT = resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const NASTY = `</script><b>&"'`;


/**
 * A realistic report: the last 300 real SPY sessions of the bundled data (2016-10 .. 2017-12) as the
 * benchmark, a seeded strategy equity loosely following it, monthly returns compounded from that
 * equity, ~45 trades and ~2,600 risk decisions (one with a reason full of HTML metacharacters).
 */
function fixture(sessions = 300): HtmlReportData {
  const rows = readFileSync(join(ROOT, 'data/daily/SPY.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const cols = line.split(',');
      return { date: cols[0]!, close: Number(cols[4]) };
    })
    .slice(-(sessions + 1));
  const rand = prng(20260401);
  const normal = () => rand() + rand() + rand() + rand() - 2; // ~N(0, 0.33)
  const initialEquity = 100_000;
  let equity = initialEquity;
  const days: HtmlReportData['days'] = rows.slice(1).map((row, i) => {
    const spyRet = row.close / rows[i]!.close - 1;
    equity *= 1 + 0.0002 + 0.8 * spyRet + 0.012 * normal();
    return { date: row.date, equity, cash: equity * (0.1 + 0.5 * rand()), benchmarkClose: row.close };
  });
  days[Math.floor(sessions / 2)]!.benchmarkClose = null; // a missing benchmark close: a gap in the benchmark line

  const monthEnds = new Map<string, number>();
  for (const d of days) monthEnds.set(d.date.slice(0, 7), d.equity);
  let previous = initialEquity;
  const monthlyReturns = [...monthEnds].map(([ym, end]) => {
    const ret = end / previous - 1;
    previous = end;
    return { year: Number(ym.slice(0, 4)), month: Number(ym.slice(5, 7)), ret };
  });

  const symbols = ['AAPL', 'MSFT', 'AMZN', 'JPM', 'XOM', 'JNJ', 'PG', 'NVDA', 'KO', 'HD'];
  const trades: HtmlReportData['trades'] = Array.from({ length: Math.min(45, Math.floor(sessions / 6)) }, (_, i) => {
    const entry = days[i * 6]!.date;
    const exit = days[i * 6 + 5]!.date;
    const entryPrice = 50 + rand() * 200;
    const returnPct = (rand() - 0.45) * 12;
    const qty = 10 + Math.floor(rand() * 90);
    return {
      symbol: symbols[i % symbols.length]!,
      entryDate: entry,
      exitDate: exit,
      qty: String(qty),
      entryPrice: entryPrice.toFixed(2),
      exitPrice: (entryPrice * (1 + returnPct / 100)).toFixed(2),
      pnl: ((entryPrice * returnPct) / 100 * qty).toFixed(2),
      returnPct,
      exitKind: i % 3 === 0 ? 'stop_loss' : 'signal',
    };
  });

  const rules = ['OK', 'MAX_POSITION_PCT', 'MAX_GROSS_EXPOSURE', 'DAILY_LOSS_LIMIT', 'MIN_PRICE'];
  const riskDecisions: HtmlReportData['riskDecisions'] = [];
  for (const d of days) {
    const n = 8 + Math.floor(rand() * 2);
    for (let k = 0; k < n; k++) {
      const allowed = rand() < 0.7;
      const rule = allowed ? 'OK' : rules[1 + Math.floor(rand() * (rules.length - 1))]!;
      riskDecisions.push({
        date: d.date,
        symbol: symbols[(k + riskDecisions.length) % symbols.length]!,
        kind: k % 4 === 0 ? 'exit' : 'entry',
        allowed,
        rule,
        reason: allowed ? 'within limits: position 4.1% <= 10% & exposure < 100%' : `position 12.3% > max 10% of equity ("hard" limit, rule <${rule}>)`,
      });
    }
  }
  riskDecisions[17] = { ...riskDecisions[17]!, allowed: false, rule: 'MAX_POSITION_PCT', reason: NASTY };

  return {
    title: `Backtest ${days[0]!.date} .. ${days.at(-1)!.date}`,
    from: days[0]!.date,
    to: days.at(-1)!.date,
    generatedAt: '2026-04-01T12:00:00.000Z',
    settings: [
      { label: 'Commission', value: '0.005 USD/share' },
      { label: 'Slippage', value: '5 bps' },
      { label: 'Model', value: 'ridge-walk-forward@3' },
      { label: 'Initial cash', value: '100,000.00 USD' },
      { label: 'Universe', value: '500 symbols' },
    ],
    days,
    initialEquity,
    benchmarkSymbol: 'SPY',
    benchmarkStart: rows[0]!.close,
    metrics: [
      { group: 'Returns', label: 'Total return', value: `${((equity / initialEquity - 1) * 100).toFixed(2)}%`, formula: 'equity_end / equity_start − 1' },
      { group: 'Returns', label: 'CAGR', value: '9.87%', formula: '(equity_end / equity_start)^(252 / sessions) − 1' },
      { group: 'Risk', label: 'Max drawdown', value: '-8.10%', formula: 'min(equity / running peak − 1)' },
      { group: 'Risk', label: 'Volatility', value: '14.2%', formula: 'stdev(daily returns) × √252' },
      { group: 'Risk-adjusted', label: 'Sharpe', value: '0.93', formula: 'mean(daily excess) / stdev(daily) × √252 <rf = 0>' },
    ],
    monthlyReturns,
    trades,
    riskDecisions,
  };
}

/** Every match of `pattern` in `text`, with some context (keeps failure output short on a 300 kB document). */
function occurrences(text: string, pattern: RegExp): string[] {
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  return [...text.matchAll(global)].map((m) => text.slice(Math.max(0, m.index - 40), m.index + m[0].length + 40));
}

/** Same length and, point by point, equal to 9 decimals (null where null). */
function expectSeries(actual: readonly (number | null)[], expected: readonly (number | null)[]): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((value, i) => {
    if (value === null) expect(actual[i], `point ${i}`).toBeNull();
    else expect(actual[i], `point ${i}`).toBeCloseTo(value, 9);
  });
}

function chartJsSource(): string {
  return readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js'), 'utf8');
}

describe('html report: the pure parts', () => {
  it('escapes text for HTML: a reason with </script><b>&"\' cannot break out', () => {
    expect(escapeHtml(NASTY)).toBe('&#60;/script&#62;&#60;b&#62;&#38;&#34;&#39;');
    const data = fixture(40);
    data.title = `Report <i>${NASTY}`;
    data.benchmarkSymbol = `SPY</script>`;
    const html = renderHtmlReport(data);
    expect(html.includes(`<td>${escapeHtml(NASTY)}</td>`)).toBe(true);
    expect(occurrences(html, /<\/script><b>|<i>|<b>|&"'/)).toEqual([]);
    // Exactly the three script elements close: the JSON block, Chart.js and the page script.
    expect(html.match(/<\/script/gi)).toHaveLength(3);
    expect(html.match(/<script[\s>]/gi)).toHaveLength(3);
  });

  it('writes the chart data as JSON without "<" and round-trips through JSON.parse', () => {
    const value = { a: NASTY, b: '<!-- x -->', c: 'line\u2028sep', n: [1.5, null] };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
    const html = renderHtmlReport({ ...fixture(40), benchmarkSymbol: NASTY });
    const block = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(block).not.toContain('</');
    expect(JSON.parse(block).benchmarkSymbol).toBe(NASTY);
  });

  it('rebases the equity on the initial equity and the benchmark on the close before the first session', () => {
    expectSeries(rebaseEquity([{ equity: 110 }, { equity: 99 }, { equity: 121 }], 100), [110, 99, 121]);
    expectSeries(rebaseEquity([{ equity: 50_500 }], 50_000), [101]);
    expectSeries(rebaseBenchmark([{ benchmarkClose: 210 }, { benchmarkClose: null }, { benchmarkClose: 190 }], 200), [105, null, 95]);
    expect(() => rebaseEquity([], 0)).toThrow(/initialEquity/);
    expect(() => rebaseBenchmark([], -1)).toThrow(/benchmarkStart/);
  });

  it('rebases the benchmark on its first known close when the start is unknown', () => {
    expectSeries(rebaseBenchmark([{ benchmarkClose: null }, { benchmarkClose: 50 }, { benchmarkClose: 55 }], null), [null, 100, 110]);
    expectSeries(rebaseBenchmark([{ benchmarkClose: null }], null), [null]);
  });

  it('computes the drawdown in percent against a running peak that starts at the initial equity', () => {
    expectSeries(drawdownSeries([{ equity: 90 }, { equity: 120 }, { equity: 108 }, { equity: 130 }], 100), [-10, 0, -10, 0]);
    // Below the initial equity from the start: still a drawdown (the peak includes initialEquity).
    expectSeries(drawdownSeries([{ equity: 95 }, { equity: 80 }], 100), [-5, -20]);
    const data = fixture();
    const dd = drawdownSeries(data.days, data.initialEquity);
    expect(dd).toHaveLength(data.days.length);
    expect(dd.every((v) => v <= 0)).toBe(true);
  });

  it('builds the heat-map grid with compounded yearly totals and a diverging colour scale', () => {
    const grid = monthlyHeatmap([
      { year: 2016, month: 11, ret: 0.02 },
      { year: 2016, month: 12, ret: -0.01 },
      { year: 2017, month: 1, ret: 0.05 },
    ]);
    expect(grid.years.map((y) => y.year)).toEqual([2016, 2017]);
    expect(grid.years[0]!.months).toEqual([null, null, null, null, null, null, null, null, null, null, 0.02, -0.01]);
    expect(grid.years[0]!.total).toBeCloseTo(1.02 * 0.99 - 1, 12);
    expect(grid.years[1]!.total).toBeCloseTo(0.05, 12);
    expect(grid.monthScale).toBe(0.05);

    const rgb = (s: string) => s.match(/\d+/g)!.map(Number) as [number, number, number];
    const [pr, pg] = rgb(heatColor(0.02, 0.05));
    expect(pg).toBeGreaterThan(pr);
    const [nr, ng] = rgb(heatColor(-0.02, 0.05));
    expect(nr).toBeGreaterThan(ng);
    expect(heatColor(0, 0.05)).toBe('rgb(255, 255, 255)');
    // Stronger return, stronger colour; saturates at the scale.
    expect(rgb(heatColor(0.05, 0.05))[0]).toBeLessThan(pr);
    expect(heatColor(0.5, 0.05)).toBe(heatColor(0.05, 0.05));

    expect(() => monthlyHeatmap([{ year: 2017, month: 13, ret: 0 }])).toThrow(/month must be 1-12/);
    expect(() => monthlyHeatmap([{ year: 2017, month: 1, ret: 0 }, { year: 2017, month: 1, ret: 0.1 }])).toThrow(/given twice/);
  });

  it('renders one coloured heat-map cell per month with its value in percent, and a total per year', () => {
    const html = renderHtmlReport({
      ...fixture(40),
      monthlyReturns: [
        { year: 2016, month: 11, ret: 0.0234 },
        { year: 2016, month: 12, ret: -0.0151 },
        { year: 2017, month: 1, ret: 0 },
      ],
    });
    const cells = [...html.matchAll(/<td class="cell (up|down|flat)" data-month="(\d+)" data-ret="([^"]+)" style="background:rgb\((\d+), (\d+), (\d+)\)"[^>]*>([^<]*)<\/td>/g)];
    expect(cells.map((c) => [c[1], c[2], Number(c[3]), c[7]])).toEqual([
      ['up', '11', 0.0234, '+2.3%'],
      ['down', '12', -0.0151, '−1.5%'],
      ['flat', '1', 0, '0.0%'],
    ]);
    const [up, down] = cells;
    expect(Number(up![5])).toBeGreaterThan(Number(up![4])); // green > red
    expect(Number(down![4])).toBeGreaterThan(Number(down![5])); // red > green
    expect(html.match(/<td class="total /g)).toHaveLength(2);
    expect(html.includes('>+0.8%</td></tr>')).toBe(true); // 2016: 1.0234 × 0.9849 − 1 = +0.79 %
    expect(html.match(/<td class="none" data-month/g)).toHaveLength(10 + 11);
  });

  it('refers to no external URL: no http(s) src/href/url(), and no http at all outside the Chart.js licence comments', () => {
    const html = renderHtmlReport(fixture());
    expect(occurrences(html, /\b(?:src|href|action|poster|srcset)\s*=\s*["']?\s*(?:https?:)?\/\//i)).toEqual([]);
    expect(occurrences(html, /\burl\(|@import/i)).toEqual([]);
    expect(occurrences(html, /<(?:img|iframe|object|embed|link rel="stylesheet")\b/i)).toEqual([]);
    const lib = chartJsSource();
    expect(html.includes(lib)).toBe(true);
    expect(occurrences(lib, /https?:\/\//i)).toHaveLength(2); // the licence banners of Chart.js and @kurkle/color
    expect(occurrences(html.replace(lib, ''), /https?:\/\//i)).toEqual([]);
    expect(html.includes(`default-src 'none'`)).toBe(true);
  });

  it('is deterministic, groups the metrics and shows each formula', () => {
    const data = fixture(60);
    const html = renderHtmlReport(data);
    expect(renderHtmlReport(data) === html).toBe(true);
    expect(html.match(/<div class="group"><h3>/g)).toHaveLength(3);
    expect(html.includes(`title="${escapeHtml('mean(daily excess) / stdev(daily) × √252 <rf = 0>')}"`)).toBe(true);
    expect(html.includes('<th scope="row">Slippage</th><td>5 bps</td>')).toBe(true);
    expect(html.includes('generated 2026-04-01T12:00:00.000Z')).toBe(true);
  });

  it('writes the report atomically and returns the absolute path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'html-report-'));
    try {
      const data = fixture(30);
      const path = await writeHtmlReport(join(dir, 'nested', 'report.html'), data);
      expect(isAbsolute(path)).toBe(true);
      expect(path).toBe(join(dir, 'nested', 'report.html'));
      expect(readFileSync(path, 'utf8') === renderHtmlReport(data)).toBe(true);
      expect(readdirSync(join(dir, 'nested'))).toEqual(['report.html']);
      // A failed render leaves nothing behind.
      await expect(writeHtmlReport(join(dir, 'nested', 'bad.html'), { ...data, initialEquity: 0 })).rejects.toThrow(/initialEquity/);
      expect(readdirSync(join(dir, 'nested'))).toEqual(['report.html']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const SKIP_BROWSER = process.env.SKIP_BROWSER_TESTS === '1';
if (SKIP_BROWSER) console.warn('SKIP_BROWSER_TESTS=1: skipping the headless Chromium tests of the HTML report');

/** The few DOM shapes the in-page functions use (the project compiles without the DOM lib). */
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
  toDataURL(): string;
}
interface PageElement {
  getClientRects(): { length: number };
  textContent: string | null;
  style: Record<string, string>;
}
interface PageChart {
  data: { labels: string[]; datasets: Array<{ label: string; data: Array<number | null> }> };
  getDatasetMeta(i: number): { data: unknown[] };
}
interface PageGlobals {
  __reportReady?: boolean;
  __charts: { equity: PageChart; drawdown: PageChart };
  document: {
    getElementById(id: string): unknown;
    querySelectorAll(selector: string): ArrayLike<PageElement>;
    createElement(tag: 'canvas'): PageCanvas;
  };
  getComputedStyle(element: unknown): { backgroundColor: string };
}

describe.skipIf(SKIP_BROWSER)('html report in headless Chromium (file://, offline)', () => {
  let browser: Browser;
  let context: BrowserContext;
  let dir: string;
  let data: HtmlReportData;
  let file: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: the HTML report is tested in headless Chromium. Install it with \`apt-get install chromium\` ` +
          `(as root; or run \`node scripts/ensure-chromium.mjs\`), or set SKIP_BROWSER_TESTS=1 to skip the browser tests.`,
      );
    }
    dir = mkdtempSync(join(tmpdir(), 'html-report-browser-'));
    data = fixture(300);
    file = await writeHtmlReport(join(dir, 'report.html'), data);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, offline: true });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens from file:// with no network request, no error, and draws every chart and table', { timeout: 60_000 }, async () => {
    const page = await context.newPage();
    const requested: string[] = [];
    const blocked: string[] = [];
    const errors: string[] = [];
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    page.on('request', (request) => requested.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') errors.push(`console.${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));

    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__reportReady === true, null, { timeout: 30_000 });

    const n = data.days.length;
    const charts = await page.evaluate(() => {
      const w = globalThis as unknown as PageGlobals;
      const describe = (chart: PageChart) => ({
        labels: chart.data.labels.length,
        datasets: chart.data.datasets.map((d, i) => ({ label: d.label, points: d.data.length, elements: chart.getDatasetMeta(i).data.length, last: d.data.at(-1) })),
      });
      return { equity: describe(w.__charts.equity), drawdown: describe(w.__charts.drawdown) };
    });
    expect(charts.equity.labels).toBe(n);
    expect(charts.equity.datasets.map((d) => [d.label, d.points, d.elements])).toEqual([
      ['Strategy', n, n],
      ['SPY (buy & hold)', n, n],
    ]);
    expect(charts.equity.datasets[0]!.last).toBeCloseTo(rebaseEquity(data.days, data.initialEquity).at(-1)!, 9);
    expect(charts.equity.datasets[1]!.last).toBeCloseTo(rebaseBenchmark(data.days, data.benchmarkStart).at(-1)!, 9);
    expect(charts.drawdown.labels).toBe(n);
    expect(charts.drawdown.datasets.map((d) => [d.points, d.elements])).toEqual([[n, n]]);

    const hex = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
    const pixels = await page.evaluate(
      ({ targets }) => {
        const w = globalThis as unknown as PageGlobals;
        return Object.entries(targets).map(([id, colors]) => {
          const canvas = w.document.getElementById(id) as PageCanvas | null;
          if (!canvas) return { id, found: false, width: 0, height: 0, painted: 0, near: [] as number[], blankUrl: true };
          const { data: px } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
          let painted = 0;
          const near = colors.map(() => 0);
          for (let i = 0; i < px.length; i += 4) {
            if (px[i + 3]! === 0) continue;
            painted++;
            colors.forEach(([r, g, b], k) => {
              if (px[i + 3]! > 200 && Math.abs(px[i]! - r) <= 24 && Math.abs(px[i + 1]! - g) <= 24 && Math.abs(px[i + 2]! - b) <= 24) near[k]!++;
            });
          }
          const blank = w.document.createElement('canvas');
          blank.width = canvas.width;
          blank.height = canvas.height;
          return { id, found: true, width: canvas.width, height: canvas.height, painted, near, blankUrl: canvas.toDataURL() === blank.toDataURL() };
        });
      },
      { targets: { 'equity-chart': [hex(REPORT_COLORS.equity), hex(REPORT_COLORS.benchmark)], 'drawdown-chart': [hex(REPORT_COLORS.drawdown)] } },
    );
    for (const p of pixels) {
      expect(p.found, p.id).toBe(true);
      expect(p.width, p.id).toBeGreaterThan(300);
      expect(p.height, p.id).toBeGreaterThan(150);
      expect(p.blankUrl, `${p.id} toDataURL is a blank canvas`).toBe(false);
      expect(p.painted, p.id).toBeGreaterThan(2_000);
      for (const count of p.near) expect(count, `${p.id}: pixels of each line colour`).toBeGreaterThan(100);
    }

    // The heat-map: one row per year, one coloured cell per month given, one total per year.
    const heat = monthlyHeatmap(data.monthlyReturns);
    expect(await page.locator('#heatmap tbody tr').count()).toBe(heat.years.length);
    expect(await page.locator('#heatmap td.cell').count()).toBe(data.monthlyReturns.length);
    expect(await page.locator('#heatmap td.total').count()).toBe(heat.years.length);
    const colours = await page.evaluate(() => {
      const w = globalThis as unknown as PageGlobals;
      const of = (selector: string) => Array.from(w.document.querySelectorAll(selector), (td) => w.getComputedStyle(td).backgroundColor.match(/\d+/g)!.map(Number));
      return { up: of('#heatmap td.cell.up'), down: of('#heatmap td.cell.down') };
    });
    expect(colours.up.length + colours.down.length).toBe(data.monthlyReturns.filter((m) => m.ret !== 0).length);
    expect(colours.up.every(([r, g]) => g! > r!)).toBe(true);
    expect(colours.down.every(([r, g]) => r! > g!)).toBe(true);

    // Tables: every trade and every risk decision, the nasty reason shown as text.
    expect(await page.locator('#trades-table tbody tr').count()).toBe(data.trades.length);
    expect(await page.locator('#risk-table tbody tr').count()).toBe(data.riskDecisions.length);
    expect(await page.locator('#risk-table b').count()).toBe(0);
    expect(await page.locator('#risk-table tbody tr').nth(17).locator('td').nth(5).textContent()).toBe(NASTY);
    expect(await page.title()).toBe(data.title);

    // The "rejections only" filter hides the allowed decisions, and unchecking shows them again.
    const visible = () =>
      page.evaluate(() => {
        const w = globalThis as unknown as PageGlobals;
        const rows = Array.from(w.document.querySelectorAll('#risk-table tbody tr'));
        return { visible: rows.filter((r) => r.getClientRects().length > 0).length, allowedVisible: rows.filter((r) => (r as unknown as { className: string }).className === 'allowed' && r.getClientRects().length > 0).length };
      });
    const rejected = data.riskDecisions.filter((d) => !d.allowed).length;
    expect(rejected).toBeGreaterThan(100);
    expect(await visible()).toEqual({ visible: data.riskDecisions.length, allowedVisible: data.riskDecisions.length - rejected });
    await page.check('#rejections-only');
    expect(await visible()).toEqual({ visible: rejected, allowedVisible: 0 });
    expect(await page.locator('#risk-count').textContent()).toBe(`Showing ${rejected} of ${data.riskDecisions.length} decisions (${rejected} rejected)`);
    await page.uncheck('#rejections-only');
    expect((await visible()).visible).toBe(data.riskDecisions.length);

    expect(blocked, 'requests to anything but file://').toEqual([]);
    expect(requested.filter((url) => !url.startsWith('file:') && !url.startsWith('data:'))).toEqual([]);
    expect(requested).toEqual([pathToFileURL(file).href]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
