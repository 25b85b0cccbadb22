import { describe, expect, it } from 'vitest';
import { dec, formatPct, formatUsd, isOnTick, roundToTick, tickSize, toReportNumber } from '../../../lambdas/core/money';

describe('money', () => {
  it('adds without float drift', () => {
    expect(dec('0.1').plus('0.2').toString()).toBe('0.3');
    let cash = dec('100000');
    for (let i = 0; i < 1000; i++) cash = cash.minus('0.01');
    expect(cash.toString()).toBe('99990');
  });

  it('refuses NaN, infinities and garbage, naming the field', () => {
    expect(() => dec('abc', 'cash')).toThrow('cash must be a finite decimal, got "abc"');
    expect(() => dec(Number.NaN, 'qty')).toThrow(/qty must be a finite decimal/);
    expect(() => dec(Number.POSITIVE_INFINITY)).toThrow(/finite/);
  });

  it('uses a $0.01 tick at or above $1 and $0.0001 below (Reg NMS Rule 612)', () => {
    expect(tickSize('1').toString()).toBe('0.01');
    expect(tickSize('0.9999').toString()).toBe('0.0001');
    expect(roundToTick('12.345', 'down').toString()).toBe('12.34');
    expect(roundToTick('12.341', 'up').toString()).toBe('12.35');
    expect(roundToTick('12.345', 'nearest').toString()).toBe('12.34'); // half-even
    expect(roundToTick('0.12345', 'down').toString()).toBe('0.1234');
    expect(isOnTick('12.34')).toBe(true);
    expect(isOnTick('12.345')).toBe(false);
    expect(isOnTick('0.1234')).toBe(true);
    expect(() => roundToTick('0', 'down')).toThrow('price must be > 0, got 0');
  });

  it('formats for people and rounds for reports', () => {
    expect(formatUsd('1234567.891')).toBe('1,234,567.89');
    expect(formatUsd('-1234.5')).toBe('-1,234.50');
    expect(formatPct(0.005)).toBe('0.50%');
    expect(toReportNumber('100366.155')).toBe(100366.16);
  });
});
