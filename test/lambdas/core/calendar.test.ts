import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CsvCalendar } from '../../../lambdas/adapters/calendar/csv-calendar';
import {
  TradingCalendar,
  isCalendarDate,
  newYorkDate,
  newYorkTime,
  type Session,
} from '../../../lambdas/core/calendar';

const CALENDAR_FILE = fileURLToPath(new URL('../../../data/calendars/xnys-sessions-1990-2023.csv', import.meta.url));

function s(date: string, open = '14:30', close = '21:00'): Session {
  return { date, openUtc: `${date}T${open}:00Z`, closeUtc: `${date}T${close}:00Z` };
}

describe('isCalendarDate', () => {
  it('accepts real dates written YYYY-MM-DD only', () => {
    for (const ok of ['2018-01-15', '2016-02-29', '2000-02-29', '1990-12-31']) expect(isCalendarDate(ok)).toBe(true);
    for (const bad of ['2018-02-29', '1900-02-29', '2018-04-31', '2018-00-10', '2018-1-5', '2018-01-05T00:00:00Z', '', 'x'])
      expect(isCalendarDate(bad)).toBe(false);
  });
});

describe('newYorkTime / newYorkDate', () => {
  it('converts New York wall time to UTC in winter (EST, UTC-5) and summer (EDT, UTC-4)', () => {
    expect(newYorkTime('2018-02-07', 9, 0).toISOString()).toBe('2018-02-07T14:00:00.000Z');
    expect(newYorkTime('2018-01-16', 9, 30).toISOString()).toBe('2018-01-16T14:30:00.000Z');
    expect(newYorkTime('2018-07-16', 9, 30).toISOString()).toBe('2018-07-16T13:30:00.000Z');
    expect(newYorkTime('2018-07-16', 16, 0).toISOString()).toBe('2018-07-16T20:00:00.000Z');
  });

  it('switches on the DST change dates (2018-03-11 and 2018-11-04)', () => {
    expect(newYorkTime('2018-03-10', 9, 0).toISOString()).toBe('2018-03-10T14:00:00.000Z');
    expect(newYorkTime('2018-03-11', 9, 0).toISOString()).toBe('2018-03-11T13:00:00.000Z');
    expect(newYorkTime('2018-11-03', 9, 0).toISOString()).toBe('2018-11-03T13:00:00.000Z');
    expect(newYorkTime('2018-11-04', 9, 0).toISOString()).toBe('2018-11-04T14:00:00.000Z');
  });

  it('gives the New York date of an instant, across midnight UTC and DST', () => {
    expect(newYorkDate(new Date('2018-02-08T03:00:00Z'))).toBe('2018-02-07');
    expect(newYorkDate(new Date('2018-02-08T04:59:59Z'))).toBe('2018-02-07');
    expect(newYorkDate(new Date('2018-02-08T05:00:00Z'))).toBe('2018-02-08');
    expect(newYorkDate(new Date('2018-07-08T03:59:59Z'))).toBe('2018-07-07');
    expect(newYorkDate(new Date('2018-07-08T04:00:00Z'))).toBe('2018-07-08');
  });

  it('round-trips: the New York date of a New York time on a date is that date (property)', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        (d, hour, minute) => {
          const date = d.toISOString().slice(0, 10);
          expect(newYorkDate(newYorkTime(date, hour, minute))).toBe(date);
        },
      ),
    );
  });

  it('refuses bad arguments, naming them', () => {
    expect(() => newYorkTime('2018-02-30', 9, 0)).toThrow('date must be a calendar date YYYY-MM-DD, got "2018-02-30"');
    expect(() => newYorkTime('2018-02-07', 24, 0)).toThrow('hour must be an integer 0-23, got 24');
    expect(() => newYorkTime('2018-02-07', 9, 7.5)).toThrow('minute must be an integer 0-59, got 7.5');
    expect(() => newYorkDate(new Date('nope'))).toThrow('instant must be a valid Date, got Invalid Date');
  });
});

describe('TradingCalendar over the bundled NYSE calendar', () => {
  let calendar: TradingCalendar;
  beforeAll(async () => {
    calendar = new TradingCalendar(await new CsvCalendar({ file: CALENDAR_FILE }).loadSessions());
  });

  it('covers 1990-01-02 … 2023-01-13', () => {
    expect(calendar.first.date).toBe('1990-01-02');
    expect(calendar.last.date).toBe('2023-01-13');
    expect(calendar.covers('1990-01-02')).toBe(true);
    expect(calendar.covers('2023-01-13')).toBe(true);
    expect(calendar.covers('1990-01-01')).toBe(false);
    expect(calendar.covers('2023-01-14')).toBe(false);
  });

  it('knows holidays and weekends are not sessions', () => {
    expect(calendar.isSession('2018-01-12')).toBe(true);
    expect(calendar.isSession('2018-01-15')).toBe(false); // Martin Luther King Jr. Day
    expect(calendar.isSession('2018-01-13')).toBe(false); // Saturday
    expect(calendar.isSession('2017-12-25')).toBe(false); // Christmas
    expect(calendar.isSession('2018-01-01')).toBe(false); // New Year's Day
    expect(calendar.isSession('2018-12-05')).toBe(false); // National Day of Mourning (G. H. W. Bush)
    expect(() => calendar.session('2018-01-15')).toThrow('2018-01-15 is not an NYSE session');
  });

  it('has regular sessions 09:30-16:00 New York in winter and summer', () => {
    expect(calendar.session('2018-01-16')).toEqual(s('2018-01-16'));
    expect(calendar.session('2018-07-16')).toEqual(s('2018-07-16', '13:30', '20:00'));
    expect(calendar.session('2018-01-16').openUtc).toBe(newYorkTime('2018-01-16', 9, 30).toISOString().replace('.000', ''));
  });

  it('shows early closes (13:00 New York)', () => {
    expect(calendar.session('2017-11-24').closeUtc).toBe('2017-11-24T18:00:00Z'); // day after Thanksgiving, EST
    expect(calendar.session('2018-07-03').closeUtc).toBe('2018-07-03T17:00:00Z'); // Independence Day eve, EDT
  });

  it('steps to the previous/next session across weekends and holidays', () => {
    expect(calendar.previousSession('2018-01-16')?.date).toBe('2018-01-12'); // over the MLK long weekend
    expect(calendar.previousSession('2018-01-15')?.date).toBe('2018-01-12'); // date need not be a session
    expect(calendar.previousSession('2018-01-13')?.date).toBe('2018-01-12');
    expect(calendar.previousSession('2018-01-12')?.date).toBe('2018-01-11');
    expect(calendar.nextSession('2018-01-12')?.date).toBe('2018-01-16');
    expect(calendar.nextSession('2018-01-13')?.date).toBe('2018-01-16');
    expect(calendar.nextSession('2017-12-22')?.date).toBe('2017-12-26'); // over Christmas
    expect(calendar.previousSession('2018-01-02')?.date).toBe('2017-12-29'); // over New Year
    expect(calendar.previousSession('1990-01-02')).toBeUndefined();
    expect(calendar.nextSession('2023-01-13')).toBeUndefined();
  });

  it('lists sessions between two dates, inclusive', () => {
    expect(calendar.sessionsBetween('2018-01-11', '2018-01-16').map((x) => x.date)).toEqual([
      '2018-01-11',
      '2018-01-12',
      '2018-01-16',
    ]);
    expect(calendar.sessionsBetween('2018-01-13', '2018-01-15')).toEqual([]);
    expect(calendar.sessionsBetween('2018-01-16', '2018-01-16').map((x) => x.date)).toEqual(['2018-01-16']);
    expect(calendar.sessionsBetween('2018-01-01', '2018-12-31')).toHaveLength(251);
    expect(() => calendar.sessionsBetween('2018-01-16', '2018-01-12')).toThrow('from 2018-01-16 is after to 2018-01-12');
  });

  it('finds the session open at an instant (open and close inclusive)', () => {
    expect(calendar.sessionAt(new Date('2018-01-16T14:30:00Z'))?.date).toBe('2018-01-16');
    expect(calendar.sessionAt(new Date('2018-01-16T21:00:00Z'))?.date).toBe('2018-01-16');
    expect(calendar.sessionAt(new Date('2018-01-16T14:29:59.999Z'))).toBeUndefined();
    expect(calendar.sessionAt(new Date('2018-01-16T21:00:00.001Z'))).toBeUndefined();
    expect(calendar.sessionAt(new Date('2018-01-15T16:00:00Z'))).toBeUndefined(); // holiday
    expect(calendar.sessionAt(new Date('2017-11-24T17:59:00Z'))?.date).toBe('2017-11-24');
    expect(calendar.sessionAt(new Date('2017-11-24T18:30:00Z'))).toBeUndefined(); // after the early close
  });

  it('finds the last closed session at an instant', () => {
    expect(calendar.lastClosedSessionAt(new Date('2018-01-16T15:00:00Z'))?.date).toBe('2018-01-12');
    expect(calendar.lastClosedSessionAt(new Date('2018-01-16T21:00:00Z'))?.date).toBe('2018-01-16');
    expect(calendar.lastClosedSessionAt(new Date('2018-01-15T12:00:00Z'))?.date).toBe('2018-01-12');
    expect(calendar.lastClosedSessionAt(new Date('2017-11-24T18:00:00Z'))?.date).toBe('2017-11-24');
    expect(calendar.lastClosedSessionAt(new Date('2017-11-24T17:59:59Z'))?.date).toBe('2017-11-22');
    expect(calendar.lastClosedSessionAt(new Date('1990-01-02T15:00:00Z'))).toBeUndefined();
  });

  it('agrees with a linear scan for lastClosedSessionAt and sessionAt (property)', () => {
    const sessions = calendar.sessionsBetween('2016-12-01', '2019-01-31');
    const lo = Date.parse('2017-01-03T00:00:00Z');
    const hi = Date.parse('2018-12-31T00:00:00Z');
    fc.assert(
      fc.property(fc.integer({ min: lo, max: hi }), (ms) => {
        const instant = new Date(ms);
        const closed = sessions.filter((x) => Date.parse(x.closeUtc) <= ms).at(-1);
        const open = sessions.find((x) => Date.parse(x.openUtc) <= ms && ms <= Date.parse(x.closeUtc));
        expect(calendar.lastClosedSessionAt(instant)).toEqual(closed);
        expect(calendar.sessionAt(instant)).toEqual(open);
      }),
    );
  });

  it('refuses dates and instants outside its coverage instead of guessing', () => {
    const outside = '2024-01-02 is outside calendar coverage 1990-01-02..2023-01-13';
    expect(() => calendar.session('2024-01-02')).toThrow(outside);
    expect(() => calendar.isSession('2024-01-02')).toThrow(outside);
    expect(() => calendar.previousSession('2024-01-02')).toThrow(outside);
    expect(() => calendar.nextSession('1989-12-29')).toThrow('1989-12-29 is outside calendar coverage 1990-01-02..2023-01-13');
    expect(() => calendar.sessionsBetween('2022-12-01', '2024-01-02')).toThrow(outside);
    expect(() => calendar.sessionAt(new Date('2024-01-02T15:00:00Z'))).toThrow(outside);
    expect(() => calendar.lastClosedSessionAt(new Date('2024-01-02T15:00:00Z'))).toThrow(outside);
    expect(() => calendar.session('2018-1-16')).toThrow('date must be a calendar date YYYY-MM-DD, got "2018-1-16"');
    expect(() => calendar.covers('someday')).toThrow('date must be a calendar date YYYY-MM-DD, got "someday"');
  });
});

describe('TradingCalendar construction', () => {
  it('keeps frozen copies of the sessions', () => {
    const input = [s('2018-01-12'), s('2018-01-16')];
    const calendar = new TradingCalendar(input);
    input[0]!.closeUtc = '2018-01-12T18:00:00Z';
    expect(calendar.first.closeUtc).toBe('2018-01-12T21:00:00Z');
    expect(Object.isFrozen(calendar.first)).toBe(true);
    expect(calendar.sessionsBetween('2018-01-12', '2018-01-16')).toHaveLength(2);
  });

  it('refuses an empty, unsorted or duplicated session list', () => {
    expect(() => new TradingCalendar([])).toThrow('TradingCalendar needs at least one session, got none');
    expect(() => new TradingCalendar([s('2018-01-16'), s('2018-01-12')])).toThrow(
      'sessions[1].date 2018-01-12 is before the previous session 2018-01-16; sessions must be strictly ascending',
    );
    expect(() => new TradingCalendar([s('2018-01-12'), s('2018-01-12')])).toThrow(
      'sessions[1].date 2018-01-12 duplicates the previous session 2018-01-12',
    );
  });

  it('refuses bad dates and instants, naming the index and value', () => {
    expect(() => new TradingCalendar([s('2018-01-12'), { ...s('2018-01-16'), date: '2018-01-32' }])).toThrow(
      'sessions[1].date must be a calendar date YYYY-MM-DD, got "2018-01-32"',
    );
    expect(() => new TradingCalendar([{ ...s('2018-01-12'), openUtc: '2018-01-12 09:30' }])).toThrow(
      'sessions[0].openUtc must be an ISO-8601 UTC instant, got "2018-01-12 09:30"',
    );
    expect(() => new TradingCalendar([{ ...s('2018-01-12'), closeUtc: '' }])).toThrow(
      'sessions[0].closeUtc must be an ISO-8601 UTC instant, got ""',
    );
    expect(() => new TradingCalendar([s('2018-01-12', '21:00', '14:30')])).toThrow(
      'sessions[0] (2018-01-12) opens at 2018-01-12T21:00:00Z, not before its close 2018-01-12T14:30:00Z',
    );
    expect(() => new TradingCalendar([{ ...s('2018-01-12'), openUtc: '2018-01-13T14:30:00Z', closeUtc: '2018-01-13T21:00:00Z' }])).toThrow(
      'sessions[0].openUtc 2018-01-13T14:30:00Z is not on 2018-01-12 in New York',
    );
  });
});

describe('newYorkDate and isCalendarDate: the fast paths answer as the definitions', () => {
  it('newYorkDate (remembered by instant) equals luxon for instants around every 2013-2018 DST change, asked twice', async () => {
    const { DateTime } = await import('luxon');
    const instants: number[] = [];
    for (let ms = Date.parse('2013-03-09T00:00:00Z'); ms < Date.parse('2018-11-06T00:00:00Z'); ms += 17 * 60_000) {
      const at = DateTime.fromMillis(ms, { zone: 'America/New_York' });
      if ((at.month === 3 || at.month === 11) && at.day <= 14) instants.push(ms);
    }
    expect(instants.length).toBeGreaterThan(5000);
    for (let pass = 0; pass < 2; pass++) {
      for (const ms of instants) expect(newYorkDate(new Date(ms))).toBe(DateTime.fromMillis(ms, { zone: 'America/New_York' }).toISODate());
    }
  });

  it('isCalendarDate matches the calendar rules for every day of 1896-2104 and the first days after each month', () => {
    for (let year = 1896; year <= 2104; year++) {
      for (let month = 1; month <= 12; month++) {
        const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
        for (let day = 1; day <= 32; day++) {
          const text = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
          expect(isCalendarDate(text), text).toBe(day <= days);
        }
      }
    }
    expect(isCalendarDate('2016-13-01')).toBe(false);
    expect(isCalendarDate('2016-00-10')).toBe(false);
  });
});
