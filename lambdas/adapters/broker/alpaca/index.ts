/** Alpaca Trading API v2 adapter: the broker port, the calendar port, and their building blocks. */
export { AlpacaBroker, MAX_ACTIVITIES_PAGE, MAX_ORDERS_PAGE, type AlpacaBrokerOptions } from './alpaca-broker';
export { AlpacaCalendar, type AlpacaCalendarRange } from './alpaca-calendar';
export {
  ALPACA_LIVE_BASE_URL,
  ALPACA_PAPER_BASE_URL,
  alpacaKeysFrom,
  parseAlpacaLiveFlag,
  resolveAlpacaEndpoint,
  type AlpacaEndpoint,
  type AlpacaEndpointMode,
  type AlpacaKeys,
} from './config';
export { AlpacaResponseError, toBrokerOrder, toCreateOrderBody, type AlpacaAccountConfigurations, type AlpacaClock, type AlpacaCreateOrderBody } from './mapping';
export { ALPACA_REQUESTS_PER_MINUTE, TokenBucket, type TimeSource, type TokenBucketOptions } from './rate-limiter';
export { AlpacaTransport, DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUT_MS, type AlpacaTransportOptions, type RetryPolicy } from './transport';
