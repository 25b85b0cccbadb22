/**
 * NYSE sessions from an exchange_calendars CSV export (e.g. `data/calendars/xnys-sessions-1990-2023.csv`):
 *
 * ```
 * ,open,close,break_start,break_end
 * 1990-01-02T00:00:00Z,1990-01-02T14:30:00Z,1990-01-02T21:00:00Z,,
 * ```
 *
 * The first column (unnamed) is the session date as UTC midnight; `open`/`close` are UTC instants.
 * Holidays are simply absent; early closes show as an earlier `close`.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import { isCalendarDate, type Session } from '../../core/calendar';
import type { CalendarPort } from '../../ports';

/** Options for `CsvCalendar`. */
export interface CsvCalendarOptions {
  /** Path of the exchange_calendars CSV file. */
  file: string;
}

/** Session label: `YYYY-MM-DD`, optionally followed by a UTC-midnight time (`T00:00:00Z`, ` 00:00:00+00:00`). */
const SESSION_LABEL = /^(\d{4}-\d{2}-\d{2})(?:[T ]00:00(?::00(?:\.0{1,9})?)?(?:Z|[+-]00(?::?00)?)?)?$/;
/** An instant with an explicit offset: `1990-01-02T14:30:00Z`, `1990-01-02 14:30:00+00:00`. */
const INSTANT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/;

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

/**
 * `CalendarPort` over an exchange_calendars CSV file. The file is parsed once per instance; each call
 * returns fresh copies.
 */
export class CsvCalendar implements CalendarPort {
  private readonly file: string;
  private cache: Promise<readonly Session[]> | undefined;

  /** @param options.file the CSV to read; it is not touched until `loadSessions()`. */
  constructor(options: CsvCalendarOptions) {
    if (typeof options?.file !== 'string' || options.file.trim() === '') {
      throw new Error(`file must be a non-empty path, got ${JSON.stringify(options?.file)}`);
    }
    this.file = options.file;
  }

  /**
   * All sessions, strictly ascending by date. `date` is `YYYY-MM-DD` (America/New_York session date);
   * `openUtc`/`closeUtc` are the file's instants as ISO-8601 UTC with a `Z` suffix
   * (e.g. `1990-01-02T14:30:00Z`; other offsets are converted to UTC).
   * @throws Error naming the file (and line) when it cannot be read, is not parseable CSV, lacks the
   *   `open`/`close` columns, has a bad date or instant, a close not after its open, dates not
   *   strictly ascending, or no sessions at all.
   */
  async loadSessions(): Promise<Session[]> {
    if (this.cache === undefined) {
      const pending = this.read();
      this.cache = pending;
      pending.catch(() => {
        if (this.cache === pending) this.cache = undefined;
      });
    }
    const sessions = await this.cache;
    return sessions.map((session) => ({ ...session }));
  }

  private async read(): Promise<readonly Session[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read calendar file ${this.file}: ${(error as Error).message}`);
    }
    return parseSessions(this.file, text);
  }
}

function toUtcIso(text: string): string | undefined {
  if (!INSTANT.test(text)) return undefined;
  const parsed = DateTime.fromISO(text.replace(' ', 'T'), { setZone: true });
  if (!parsed.isValid) return undefined;
  return parsed.toUTC().toISO({ suppressMilliseconds: true }) ?? undefined;
}

/**
 * Parses the text of an exchange_calendars CSV into sessions (see `CsvCalendar.loadSessions`).
 * @param file used in error messages only.
 */
export function parseSessions(file: string, text: string): Session[] {
  let records: CsvRecord[];
  try {
    records = parse(text, {
      bom: true,
      trim: true,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as CsvRecord[];
  } catch (error) {
    throw new Error(`unreadable calendar CSV ${file}: ${(error as Error).message}`);
  }
  const [header, ...body] = records;
  if (header === undefined) throw new Error(`calendar file ${file} is empty: expected a header ",open,close,..."`);
  const names = header.record.map((name) => name.trim().toLowerCase());
  const openAt = names.indexOf('open');
  const closeAt = names.indexOf('close');
  if (openAt < 1 || closeAt < 1) {
    const missing = [openAt < 1 ? 'open' : '', closeAt < 1 ? 'close' : ''].filter(Boolean).join(', ');
    throw new Error(
      `calendar file ${file} line ${header.info.lines}: header must have the session date first and columns open, close; ` +
        `missing ${missing} (header: ${header.record.join(',')})`,
    );
  }

  const sessions: Session[] = [];
  let previous: { date: string; line: number } | undefined;
  for (const { record, info } of body) {
    const where = `calendar file ${file} line ${info.lines}`;
    const label = record[0] ?? '';
    const date = SESSION_LABEL.exec(label)?.[1];
    if (date === undefined || !isCalendarDate(date)) {
      throw new Error(`${where}: session date ${JSON.stringify(label)} is not YYYY-MM-DD or YYYY-MM-DDT00:00:00Z`);
    }
    const openText = record[openAt] ?? '';
    const closeText = record[closeAt] ?? '';
    const openUtc = toUtcIso(openText);
    if (openUtc === undefined) {
      throw new Error(`${where}: open ${JSON.stringify(openText)} for ${date} is not an ISO-8601 instant with a UTC offset`);
    }
    const closeUtc = toUtcIso(closeText);
    if (closeUtc === undefined) {
      throw new Error(`${where}: close ${JSON.stringify(closeText)} for ${date} is not an ISO-8601 instant with a UTC offset`);
    }
    if (Date.parse(closeUtc) <= Date.parse(openUtc)) {
      throw new Error(`${where}: close ${closeText} for ${date} is not after open ${openText}`);
    }
    if (previous !== undefined && date <= previous.date) {
      const how = date === previous.date ? 'duplicates' : 'is before';
      throw new Error(`${where}: session ${date} ${how} ${previous.date} (line ${previous.line}); sessions must be strictly ascending`);
    }
    sessions.push({ date, openUtc, closeUtc });
    previous = { date, line: info.lines };
  }
  if (sessions.length === 0) throw new Error(`calendar file ${file} has a header but no sessions`);
  return sessions;
}
