/**
 * The strategy config: every limit of the trading spec (issue #4) has the spec's default, and a bad
 * value is refused with the field and the value.
 */
import { describe, expect, it } from 'vitest';
import { parseStrategyConfig, REGIME_MIN_BARS } from '../../../lambdas/core/config';

describe('defaults are the trading spec', () => {
  const c = parseStrategyConfig();
  it.each([
    ['riskPerTrade', 0.005],
    ['atrStopMultiple', 2],
    ['stopMode', 'atr'],
    ['maxPositionFraction', 0.1],
    ['maxOpenPositions', 10],
    ['cashBufferFraction', 0.03],
    ['coolingOffMinutes', 60],
    ['brokerSuspendOnHalt', false],
    ['dailyLossSoftFraction', 0.015],
    ['dailyLossHardFraction', 0.02],
    ['lossStreakReduceAt', 2],
    ['lossStreakStopAt', 3],
    ['maxTradesPerDay', 5],
    ['reducedSizeFactor', 0.5],
    ['drawdownReduceFraction', 0.1],
    ['drawdownHaltFraction', 0.2],
    ['sharpeReduceBelow', 0.5],
    ['sharpeStopAtOrBelow', 0],
    ['regimeFilter', true],
    ['onePositionPerSymbol', true],
    ['longOnly', true],
    ['forbidAddToLoser', true],
    ['forbidReverseWithoutFlat', true],
    ['maxPriceDeviationFraction', 0.1],
    ['maxAdvFraction', 0.05],
    ['fatFingerMultiple', 5],
    ['maxDataAgeSessions', 1],
    ['tradeWindowOpenDelayMinutes', 5],
    ['tradeWindowCloseLeadMinutes', 5],
    ['endOfDayFlatten', false],
    ['endOfDayMinutesBeforeClose', 15],
    ['alertCooldownSeconds', 300],
    ['fillRateAlertBelow', 0.5],
  ] as const)('%s = %j', (key, value) => {
    expect(c[key]).toBe(value);
  });
});

describe('bad values are refused with the field and the value', () => {
  it.each([
    [{ riskPerTrade: 0 }, 'riskPerTrade=0'],
    [{ maxOpenPositions: 1.5 }, 'maxOpenPositions=1.5'],
    [{ stopMode: 'trailing' }, 'stopMode="trailing"'],
    [{ dailyLossSoftFraction: 0.03 }, 'dailyLossHardFraction=(default): dailyLossHardFraction (0.02) must be greater than dailyLossSoftFraction (0.03)'],
    [{ drawdownReduceFraction: 0.2 }, 'drawdownHaltFraction=(default): drawdownHaltFraction (0.2) must be greater than drawdownReduceFraction (0.2)'],
    [{ sharpeStopAtOrBelow: 0.5 }, 'sharpeReduceBelow=(default): sharpeReduceBelow (0.5) must be greater than sharpeStopAtOrBelow (0.5)'],
    [{ lossStreakReduceAt: 4 }, 'lossStreakStopAt=(default): lossStreakStopAt (3) must be >= lossStreakReduceAt (4)'],
    [{ lookbackBars: REGIME_MIN_BARS - 1 }, `lookbackBars=${REGIME_MIN_BARS - 1}: lookbackBars (${REGIME_MIN_BARS - 1}) must be >= ${REGIME_MIN_BARS} while regimeFilter is on`],
    [{ bogus: 1 }, 'bogus'],
  ])('%j', (input, message) => {
    expect(() => parseStrategyConfig(input)).toThrow(message);
  });

  it('the regime filter needs 273 benchmark closes; without it a shorter window is fine', () => {
    expect(REGIME_MIN_BARS).toBe(273);
    expect(parseStrategyConfig({ lookbackBars: REGIME_MIN_BARS }).lookbackBars).toBe(273);
    expect(parseStrategyConfig({ lookbackBars: 120, regimeFilter: false }).lookbackBars).toBe(120);
  });
});
