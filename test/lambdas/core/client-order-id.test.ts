import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deriveClientOrderId,
  MAX_CLIENT_ORDER_ID_LENGTH,
  ORDER_PURPOSES,
  parseClientOrderId,
  type ClientOrderIdParts,
} from '../../../lambdas/core/client-order-id';

const parts: ClientOrderIdParts = { strategyId: 'momo1', sessionDate: '2018-02-07', symbol: 'BRK.B', side: 'buy', purpose: 'entry' };

const arbParts = fc.record({
  strategyId: fc.stringMatching(/^[a-z][a-z0-9]{0,11}$/),
  sessionDate: fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  symbol: fc.stringMatching(/^[A-Z][A-Z0-9.]{0,9}$/),
  side: fc.constantFrom('buy' as const, 'sell' as const),
  purpose: fc.constantFrom(...ORDER_PURPOSES),
});

describe('deriveClientOrderId', () => {
  it('is readable and deterministic', () => {
    expect(deriveClientOrderId(parts)).toBe('momo1-20180207-BRK.B-b-en');
    expect(deriveClientOrderId(parts)).toBe(deriveClientOrderId({ ...parts }));
    expect(deriveClientOrderId({ ...parts, side: 'sell', purpose: 'stop_loss' })).toBe('momo1-20180207-BRK.B-s-sl');
  });

  it('property: at most 48 characters (Alpaca limit) for every valid intent', () => {
    fc.assert(
      fc.property(arbParts, (p) => {
        expect(deriveClientOrderId(p).length).toBeLessThanOrEqual(MAX_CLIENT_ORDER_ID_LENGTH);
      }),
    );
  });

  it('property: different intents never share an id (parse inverts derive)', () => {
    fc.assert(
      fc.property(arbParts, (p) => {
        expect(parseClientOrderId(deriveClientOrderId(p))).toEqual(p);
      }),
    );
  });

  it('property: ids differ whenever any part differs', () => {
    fc.assert(
      fc.property(arbParts, arbParts, (a, b) => {
        const same = JSON.stringify(a) === JSON.stringify(b);
        expect(deriveClientOrderId(a) === deriveClientOrderId(b)).toBe(same);
      }),
    );
  });

  it.each([
    [{ strategyId: 'Momo' }, /strategyId .* got "Momo"/],
    [{ strategyId: 'averyveryverylongid' }, /strategyId/],
    [{ sessionDate: '2018-02-30' }, /sessionDate must be a real date .* got "2018-02-30"/],
    [{ sessionDate: '20180207' }, /sessionDate/],
    [{ symbol: 'brk-b' }, /symbol .* got "brk-b"/],
    [{ side: 'short' }, /side must be buy or sell, got "short"/],
    [{ purpose: 'yolo' }, /purpose must be one of .* got "yolo"/],
  ])('refuses %j, naming the field and value', (override, message) => {
    expect(() => deriveClientOrderId({ ...parts, ...(override as Partial<ClientOrderIdParts>) })).toThrow(message);
  });

  it('parse returns undefined for ids it did not make (e.g. broker-made leg ids)', () => {
    expect(parseClientOrderId('4f1c3c5e-8f4b-4d0e-9a43-2f1e3f1d2c3b')).toBeUndefined();
    expect(parseClientOrderId('momo1-20180230-AAPL-b-en')).toBeUndefined();
  });
});
