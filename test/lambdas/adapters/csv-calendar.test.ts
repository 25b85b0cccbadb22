import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvCalendar, parseSessions } from '../../../lambdas/adapters/calendar/csv-calendar';
import { TradingCalendar } from '../../../lambdas/core/calendar';

const BUNDLED = fileURLToPath(new URL('../../../data/calendars/xnys-sessions-1990-2023.csv', import.meta.url));
const HEADER = ',open,close,break_start,break_end';

describe('CsvCalendar over the bundled exchange_calendars file', () => {
  it('loads 8,324 sessions from 1990-01-02 to 2023-01-13, strictly ascending, with Z instants', async () => {
    const sessions = await new CsvCalendar({ file: BUNDLED }).loadSessions();
    expect(sessions).toHaveLength(8324);
    expect(sessions[0]).toEqual({ date: '1990-01-02', openUtc: '1990-01-02T14:30:00Z', closeUtc: '1990-01-02T21:00:00Z' });
    expect(sessions.at(-1)).toEqual({ date: '2023-01-13', openUtc: '2023-01-13T14:30:00Z', closeUtc: '2023-01-13T21:00:00Z' });
    for (let i = 1; i < sessions.length; i++) expect(sessions[i - 1]!.date < sessions[i]!.date).toBe(true);
    expect(sessions.every((x) => x.openUtc.endsWith('Z') && x.closeUtc.endsWith('Z'))).toBe(true);
    expect(sessions.find((x) => x.date === '2017-11-24')?.closeUtc).toBe('2017-11-24T18:00:00Z');
    expect(sessions.some((x) => x.date === '2018-01-15')).toBe(false);
    // And the core accepts it as is.
    expect(new TradingCalendar(sessions).last.date).toBe('2023-01-13');
  });

  it('serves copies from its cache', async () => {
    const calendar = new CsvCalendar({ file: BUNDLED });
    const first = await calendar.loadSessions();
    first[0]!.date = 'corrupted';
    first.length = 1;
    const second = await calendar.loadSessions();
    expect(second).toHaveLength(8324);
    expect(second[0]!.date).toBe('1990-01-02');
  });
});

describe('parseSessions', () => {
  it('accepts plain dates and other offset spellings, normalising instants to UTC Z', () => {
    const text = [
      HEADER,
      '2018-01-12,2018-01-12 14:30:00+00:00,2018-01-12 21:00:00+00:00,,',
      '2018-01-16 00:00:00+00:00,2018-01-16T09:30:00-05:00,2018-01-16T16:00:00-05:00,,',
      '',
    ].join('\n');
    expect(parseSessions('x.csv', text)).toEqual([
      { date: '2018-01-12', openUtc: '2018-01-12T14:30:00Z', closeUtc: '2018-01-12T21:00:00Z' },
      { date: '2018-01-16', openUtc: '2018-01-16T14:30:00Z', closeUtc: '2018-01-16T21:00:00Z' },
    ]);
  });

  it('finds open/close by name, in any case', () => {
    const text = 'session,CLOSE,Open\n2018-01-12T00:00:00Z,2018-01-12T21:00:00Z,2018-01-12T14:30:00Z\n';
    expect(parseSessions('x.csv', text)).toEqual([
      { date: '2018-01-12', openUtc: '2018-01-12T14:30:00Z', closeUtc: '2018-01-12T21:00:00Z' },
    ]);
  });

  it('names the file and line of a bad row', () => {
    const row = (date: string, open = `${date}T14:30:00Z`, close = `${date}T21:00:00Z`) => `${date}T00:00:00Z,${open},${close},,`;
    expect(() => parseSessions('cal.csv', `${HEADER}\n${row('2018-01-12')}\n2018-01-32T00:00:00Z,a,b,,\n`)).toThrow(
      'calendar file cal.csv line 3: session date "2018-01-32T00:00:00Z" is not YYYY-MM-DD or YYYY-MM-DDT00:00:00Z',
    );
    expect(() => parseSessions('cal.csv', `${HEADER}\n${row('2018-01-12', '2018-01-12T14:30:00')}\n`)).toThrow(
      'calendar file cal.csv line 2: open "2018-01-12T14:30:00" for 2018-01-12 is not an ISO-8601 instant with a UTC offset',
    );
    expect(() => parseSessions('cal.csv', `${HEADER}\n${row('2018-01-12', undefined, '')}\n`)).toThrow(
      'calendar file cal.csv line 2: close "" for 2018-01-12 is not an ISO-8601 instant with a UTC offset',
    );
    expect(() =>
      parseSessions('cal.csv', `${HEADER}\n${row('2018-01-12', '2018-01-12T21:00:00Z', '2018-01-12T14:30:00Z')}\n`),
    ).toThrow('calendar file cal.csv line 2: close 2018-01-12T14:30:00Z for 2018-01-12 is not after open 2018-01-12T21:00:00Z');
    expect(() => parseSessions('cal.csv', `${HEADER}\n${row('2018-01-16')}\n\n${row('2018-01-12')}\n`)).toThrow(
      'calendar file cal.csv line 4: session 2018-01-12 is before 2018-01-16 (line 2); sessions must be strictly ascending',
    );
    expect(() => parseSessions('cal.csv', `${HEADER}\n${row('2018-01-12')}\n${row('2018-01-12')}\n`)).toThrow(
      'calendar file cal.csv line 3: session 2018-01-12 duplicates 2018-01-12 (line 2)',
    );
  });

  it('refuses a file without open/close columns, an empty file, a header-only file, garbled CSV', () => {
    expect(() => parseSessions('cal.csv', ',open,break_start\n')).toThrow(
      'calendar file cal.csv line 1: header must have the session date first and columns open, close; missing close (header: ,open,break_start)',
    );
    expect(() => parseSessions('cal.csv', '')).toThrow('calendar file cal.csv is empty');
    expect(() => parseSessions('cal.csv', `${HEADER}\n`)).toThrow('calendar file cal.csv has a header but no sessions');
    expect(() => parseSessions('cal.csv', `${HEADER}\n"2018-01-12,x\n`)).toThrow(/^unreadable calendar CSV cal\.csv: .*[Qq]uote/);
  });
});

describe('CsvCalendar errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'csv-calendar-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names a missing file', async () => {
    const file = join(dir, 'missing.csv');
    await expect(new CsvCalendar({ file }).loadSessions()).rejects.toThrow(`cannot read calendar file ${file}: ENOENT`);
  });

  it('names the file and line of a bad row, and retries after a failure', async () => {
    const file = join(dir, 'bad.csv');
    await writeFile(file, `${HEADER}\n2018-01-12T00:00:00Z,2018-01-12T14:30:00Z,never,,\n`);
    const calendar = new CsvCalendar({ file });
    await expect(calendar.loadSessions()).rejects.toThrow(`calendar file ${file} line 2: close "never"`);
    await writeFile(file, `${HEADER}\n2018-01-12T00:00:00Z,2018-01-12T14:30:00Z,2018-01-12T21:00:00Z,,\n`);
    expect(await calendar.loadSessions()).toHaveLength(1);
  });

  it('refuses a missing file option', () => {
    expect(() => new CsvCalendar({ file: ' ' })).toThrow('file must be a non-empty path, got " "');
  });
});
