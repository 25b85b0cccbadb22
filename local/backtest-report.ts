/**
 * The backtest's analytics for a range run: performance metrics (lambdas/core/performance) over the
 * sessions' closing equity, the ledger's fills and closed trades and the benchmark's closes, and the
 * self-contained HTML report (html-report.ts) in the state directory.
 *
 * Inputs are what the replay wrote: the session reports (equity, cash, positions, risk decisions),
 * the order ledger (fills, orders and their decision prices) and the market data the run used.
 * Units: USD, shares, fractions; dates are New York session dates.
 */
import { join } from 'node:path';
import { validateBarRows } from '../lambdas/core/bars';
import type { StrategyConfig } from '../lambdas/core/config';
import type { LedgerOrder } from '../lambdas/core/ledger';
import { Dec, dec } from '../lambdas/core/money';
import {
  computePerformanceMetrics,
  METRIC_DOCS,
  monthlyReturns,
  type MetricsDay,
  type MetricsFill,
  type MetricsTrade,
  type PerformanceMetrics,
} from '../lambdas/core/performance/metrics';
import { closedTrades } from '../lambdas/core/trades';
import type { MarketDataPort } from '../lambdas/ports';
import type { Deps } from '../lambdas/wiring/deps';
import { writeHtmlReport, type HtmlReportData } from './html-report';
import type { SessionReport } from './report';

/** The costs the paper broker applied, as configured (both also in the HTML report's settings). */
export interface BacktestCosts {
  /** USD per share, charged at every fill. */
  commissionPerShare: number;
  /** bps against the trader on every fill price (capped at a limit order's limit). */
  slippageBps: number;
}

/** What a range run adds to its summary. */
export interface BacktestAnalytics {
  metrics: PerformanceMetrics;
  costs: BacktestCosts;
  /** Absolute path of the HTML report, or null when none was written. */
  htmlReport: string | null;
}

/** Everything {@link buildBacktestAnalytics} reads. */
export interface BacktestAnalyticsInput {
  deps: Pick<Deps, 'ledger' | 'config'>;
  marketData: MarketDataPort;
  days: readonly SessionReport[];
  /** Cash before the first session, USD (decimal string). */
  initialCash: string;
  /** The session before the first day (its benchmark close is the benchmark's starting point), or null. */
  previousSession: string | null;
  /** Where the HTML report goes (null: none is written). */
  stateDir: string | null;
  /** ISO-8601 UTC, stamped on the report (passed in: the module reads no clock). */
  generatedAt: string;
  /** Extra settings shown in the report, e.g. the model source. */
  settings?: Array<{ label: string; value: string }>;
}

/** The reference (decision) price of a fill's order, or null when none is known. */
export function decisionPrice(order: LedgerOrder | undefined, config: Pick<StrategyConfig, 'entryLimitBps'>): string | null {
  if (!order) return null;
  // An entry's limit is the decision close plus entryLimitBps (core/sizing): undo that.
  if (order.purpose === 'entry' && order.limitPrice) return dec(order.limitPrice).div(dec(1).plus(dec(config.entryLimitBps).div(10_000))).toString();
  // A stop-loss leg was decided at its stop price.
  if (order.type === 'stop' && order.stopPrice) return order.stopPrice;
  return null;
}

/**
 * Metrics and the HTML report of a range.
 *
 * - Days: equity and cash at each session's close; gross exposure = Σ position qty × last price.
 * - Trades: round trips closed in the range (`closedTrades`, FIFO) with P&L net of commissions,
 *   qty × commission per share at the entry and at the exit.
 * - Fills: the ledger's fills in the range; the slippage reference is the order's decision price
 *   ({@link decisionPrice}): entries against the close they were sized on, stops against the stop.
 * - Fill rate: entry orders sent to the broker in the range that got any fill.
 * - Benchmark: the config's benchmark closes from the same market data.
 * @throws the metrics' RangeError naming a field when the replay produced an invalid value.
 */
export async function buildBacktestAnalytics(input: BacktestAnalyticsInput): Promise<BacktestAnalytics> {
  const { deps, days } = input;
  const config = deps.config;
  const costs: BacktestCosts = { commissionPerShare: config.commissionPerShare, slippageBps: config.slippageBps };
  const from = days[0]?.tradingDate ?? '';
  const to = days[days.length - 1]?.tradingDate ?? '';
  const inRange = (d: string) => d >= from && d <= to;

  const benchClose = new Map<string, number>();
  try {
    const { bars } = validateBarRows(await input.marketData.loadDailyRows(config.benchmark));
    for (const b of bars) benchClose.set(b.date, b.close);
  } catch {
    // No benchmark: the benchmark metrics are null.
  }
  const benchmarkStart = input.previousSession ? (benchClose.get(input.previousSession) ?? null) : null;

  const metricsDays: MetricsDay[] = days.map((d) => ({
    date: d.tradingDate,
    equity: dec(d.equity).toString(),
    cash: dec(d.cash).toString(),
    grossExposure: d.positions.reduce((sum, p) => sum.plus(dec(p.qty).times(dec(p.lastPrice))), new Dec(0)).toString(),
    benchmarkClose: benchClose.get(d.tradingDate) ?? null,
  }));

  const perShare = dec(config.commissionPerShare);
  const [fills, orders] = await Promise.all([deps.ledger.listFills(), deps.ledger.listOrders()]);
  const orderById = new Map(orders.map((o) => [o.clientOrderId, o]));
  const rangeFills = fills.filter((f) => inRange(f.sessionDate));
  const metricsFills: MetricsFill[] = rangeFills.map((f) => ({
    date: f.sessionDate,
    symbol: f.symbol,
    side: f.side,
    qty: f.qty,
    price: f.price,
    referencePrice: decisionPrice(orderById.get(f.clientOrderId), config),
    commission: dec(f.qty).times(perShare).toString(),
  }));
  const trades = closedTrades(fills).filter((t) => inRange(t.exitSessionDate));
  const metricsTrades: MetricsTrade[] = trades.map((t) => ({
    symbol: t.symbol,
    entryDate: t.entrySessionDate,
    exitDate: t.exitSessionDate,
    qty: t.qty,
    pnl: dec(t.pnl).minus(dec(t.qty).times(perShare).times(2)).toString(),
  }));
  const entries = orders.filter((o) => o.purpose === 'entry' && o.parentClientOrderId === null && o.brokerOrderId !== null && inRange(o.tradingDate));

  const metrics = computePerformanceMetrics({
    initialEquity: dec(input.initialCash).toString(),
    ...(input.previousSession ? { startDate: input.previousSession } : {}),
    benchmarkStart,
    days: metricsDays,
    trades: metricsTrades,
    fills: metricsFills,
    ordersSubmitted: entries.length,
    ordersFilled: entries.filter((o) => dec(o.filledQty).gt(0)).length,
  });

  let htmlReport: string | null = null;
  if (input.stateDir && days.length > 0) {
    const data: HtmlReportData = {
      title: `Backtest ${from} .. ${to}`,
      from,
      to,
      generatedAt: input.generatedAt,
      settings: [
        { label: 'Sessions', value: String(days.length) },
        { label: 'Initial cash', value: `${dec(input.initialCash).toFixed(2)} USD` },
        { label: 'Commission', value: `${costs.commissionPerShare} USD per share` },
        { label: 'Slippage', value: `${costs.slippageBps} bps` },
        { label: 'Strategy', value: config.strategyId },
        { label: 'Predictor', value: config.predictor },
        { label: 'Benchmark', value: config.benchmark },
        ...(input.settings ?? []),
      ],
      days: days.map((d) => ({ date: d.tradingDate, equity: d.equity, cash: d.cash, benchmarkClose: benchClose.get(d.tradingDate) ?? null })),
      initialEquity: dec(input.initialCash).toNumber(),
      benchmarkSymbol: config.benchmark,
      benchmarkStart,
      metrics: METRIC_DOCS.map((m) => ({ group: m.group, label: m.label, value: formatMetric(metrics[m.key], m.unit), formula: m.formula })),
      monthlyReturns: monthlyReturns(dec(input.initialCash).toString(), metricsDays),
      trades: trades.map((t) => ({
        symbol: t.symbol,
        entryDate: t.entrySessionDate,
        exitDate: t.exitSessionDate,
        qty: t.qty,
        entryPrice: dec(t.entryPrice).toFixed(4),
        exitPrice: dec(t.exitPrice).toFixed(4),
        pnl: dec(t.pnl).minus(dec(t.qty).times(perShare).times(2)).toFixed(2),
        returnPct: dec(t.returnFraction).times(100).toNumber(),
        exitKind: t.exitPurpose,
      })),
      riskDecisions: days.flatMap((d) =>
        d.decisions.map((x) => ({ date: d.tradingDate, symbol: x.symbol, kind: x.kind, allowed: x.allowed, rule: x.rule, reason: x.reason })),
      ),
    };
    htmlReport = await writeHtmlReport(join(input.stateDir, `backtest-${from}-${to}.html`), data);
  }
  return { metrics, costs, htmlReport };
}

/** A metric for display (by its METRIC_DOCS unit): fractions as percent with 2 decimals, USD with 2, bps with 1, counts as integers, dates as is, anything else with 3 decimals (1 from 100 up). */
export function formatMetric(value: number | string | null, unit: string): string {
  if (value === null) return 'n/a';
  if (typeof value === 'string') return value;
  if (/^fraction/.test(unit)) return `${(value * 100).toFixed(2)}%`;
  if (/^USD/.test(unit)) return `${value.toFixed(2)} USD`;
  if (/^bps/.test(unit)) return `${value.toFixed(1)} bps`;
  if (/^(sessions|count)$/.test(unit)) return String(Math.round(value));
  return value.toFixed(Math.abs(value) >= 100 ? 1 : 3);
}
