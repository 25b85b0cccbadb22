/**
 * Flatten: cancel every open order through cancel-and-verify, then close every position with a
 * market order — the kill switch's `flatten` action, the MAX_DRAWDOWN halt and the end-of-day
 * flatten all come here (the risk kernel decides the exits; the orders step calls this).
 *
 * Order matters: the stop-loss legs are cancelled and confirmed canceled BEFORE a closing sell is
 * sent, so a stop that fires during the flatten can never sell the same shares twice (which would
 * leave a naked short). A symbol whose cancel cannot be confirmed gets no closing order (the
 * cancel-and-verify path already latched HALTED with a CRITICAL alert). The closing quantity is
 * the broker's position as read after the cancels, never more than the kernel allowed.
 *
 * Exits are risk-reducing: they go out whatever the kill switch or the trading state says.
 */
import { deriveClientOrderId } from '../../core/client-order-id';
import { isLedgerOpen } from '../../core/ledger';
import { Dec, dec } from '../../core/money';
import { createOrder } from '../../core/order';
import type { RiskDecision } from '../../core/risk/kernel';
import type { BrokerOrder } from '../../ports';
import type { Deps } from '../../wiring/deps';
import type { Placement } from '../orders';
import { cancelAndVerify, type CancelOutcome } from './cancel-and-verify';
import type { PipelineState } from './pipeline-state';

/** What one flatten did. */
export interface FlattenReport {
  /** Each open order cancelled, with its verified outcome. */
  cancels: Array<{ clientOrderId: string; symbol: string; outcome: CancelOutcome }>;
  /** One placement per exit decision. */
  exits: Placement[];
}

/**
 * Cancels open orders (all of them when `cancelAll`, else those of the exit symbols) and sends one
 * market `day` order per allowed exit decision, with the ledger-first placement protocol.
 * @param placeOrder the orders step's placement protocol (passed in to keep the modules acyclic).
 * @throws ledger (DynamoDB) errors only; broker failures end as placements with an outcome.
 */
export async function flattenPositions(
  deps: Deps,
  exits: readonly RiskDecision[],
  state: Pick<PipelineState, 'runId' | 'tradingDate' | 'session'>,
  options: { cancelAll: boolean },
  placeOrder: (deps: Deps, order: ReturnType<typeof createOrder>, state: Pick<PipelineState, 'runId' | 'tradingDate'>, options: { reducing: boolean }) => Promise<Placement>,
): Promise<FlattenReport> {
  const now = () => deps.clock.now().toISOString();
  const symbols = new Set(exits.map((e) => e.symbol));
  const report: FlattenReport = { cancels: [], exits: [] };
  const unresolved = new Set<string>();

  // 1. Cancel and verify: parents first (their legs follow them), then whatever is still open.
  const open = (await deps.ledger.listOrders())
    .filter((o) => isLedgerOpen(o.status) && o.brokerOrderId !== null && (options.cancelAll || symbols.has(o.symbol)))
    .sort((a, b) => Number(a.parentClientOrderId !== null) - Number(b.parentClientOrderId !== null));
  for (const listed of open) {
    const record = await deps.ledger.get(listed.clientOrderId);
    if (!record || !isLedgerOpen(record.status)) continue; // closed with its parent
    const result = await cancelAndVerify(deps, record, { runId: state.runId, tradingDate: state.tradingDate, now: now() });
    report.cancels.push({ clientOrderId: record.clientOrderId, symbol: record.symbol, outcome: result.outcome });
    if (result.outcome === 'unresolved') unresolved.add(record.symbol);
  }

  // 2. Close each position as the broker now has it.
  const positions = new Map((await deps.broker.listPositions()).map((p) => [p.symbol, dec(p.qty)]));
  const openSells = new Set<string>();
  const walk = (orders: readonly BrokerOrder[]) => {
    for (const o of orders) {
      if (o.side === 'sell') openSells.add(o.symbol);
      walk(o.legs);
    }
  };
  walk(await deps.broker.listOrders({ status: 'open' }));

  for (const exit of exits) {
    const clientOrderId = deriveClientOrderId({
      strategyId: deps.config.strategyId,
      sessionDate: state.tradingDate,
      symbol: exit.symbol,
      side: exit.side,
      purpose: exit.purpose ?? 'flatten',
    });
    const base = { clientOrderId, symbol: exit.symbol };
    if (unresolved.has(exit.symbol)) {
      report.exits.push({ ...base, outcome: 'blocked', detail: 'an open order of this symbol could not be confirmed canceled (CANCEL_UNRESOLVED); no closing order sent' });
      continue;
    }
    if (exit.side === 'sell' && openSells.has(exit.symbol)) {
      report.exits.push({ ...base, outcome: 'blocked', detail: 'the broker still shows an open sell order for this symbol; a second sell could open a short' });
      continue;
    }
    const held = positions.get(exit.symbol) ?? new Dec(0);
    const qty = Dec.min(held.abs(), dec(exit.qty ?? '0'));
    if (qty.lte(0) || (exit.side === 'sell' && held.lte(0))) {
      report.exits.push({ ...base, outcome: 'already_placed', detail: `no ${exit.symbol} position at the broker after the cancels (held ${held.toString()}); nothing to close` });
      continue;
    }
    const order = createOrder(
      {
        clientOrderId,
        strategyId: deps.config.strategyId,
        tradingDate: state.tradingDate,
        symbol: exit.symbol,
        side: exit.side,
        type: 'market',
        timeInForce: 'day',
        orderClass: 'simple',
        purpose: exit.purpose ?? 'flatten',
        qty: qty.toString(),
        ...(state.session.closeUtc ? { expiresAt: state.session.closeUtc } : {}),
      },
      { allowFractional: deps.config.fractionalShares || !qty.isInteger() },
    );
    report.exits.push(await placeOrder(deps, order, state, { reducing: true }));
  }
  return report;
}
