/**
 * The NYSE session calendar from Alpaca (GET /v2/calendar), as a CalendarPort.
 *
 * Alpaca lists each trading day with `open`/`close` in New York local time (`HH:MM`, early closes
 * included, e.g. `13:00` on the day after Thanksgiving); they become UTC instants with luxon in
 * zone America/New_York (see mapping.toSession), so DST is handled by the tz database.
 */
import type { Session } from '../../../core/calendar';
import type { CalendarPort } from '../../../ports';
import type { AlpacaBroker } from './alpaca-broker';

/** Date range asked of Alpaca, inclusive, `YYYY-MM-DD` New York dates; omitted ends use Alpaca's default. */
export interface AlpacaCalendarRange {
  start?: string;
  end?: string;
}

/** CalendarPort reading Alpaca's GET /v2/calendar for a fixed date range (through an AlpacaBroker). */
export class AlpacaCalendar implements CalendarPort {
  /**
   * @param broker the AlpacaBroker whose transport (credentials, rate limit, retries) is used.
   * @param range the days to load; a TradingCalendar built from them refuses dates outside it.
   */
  constructor(
    private readonly broker: Pick<AlpacaBroker, 'getCalendar'>,
    private readonly range: AlpacaCalendarRange = {},
  ) {}

  /**
   * Every session in the range, ascending by date, with open/close as ISO-8601 UTC.
   * @throws AlpacaResponseError / BrokerError / BrokerTransportError from the request.
   */
  async loadSessions(): Promise<Session[]> {
    return this.broker.getCalendar(this.range);
  }
}
