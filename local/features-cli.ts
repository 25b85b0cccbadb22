/**
 * `npm run features -- [--data-dir DIR] [--symbols A,B] [--from D1 --to D2] --out FILE.csv`
 *
 * Writes the research feature matrix (one row per symbol and session, columns documented in
 * docs/FEATURES.md) for a folder of daily CSVs. Defaults: the bundled 60-symbol `data/daily`, every
 * symbol but SPY, every session. SPY closes (for beta, correlation, Sharpe/Sortino columns) come from
 * the data folder, or else from the bundled `data/daily/SPY.csv`.
 *
 * Exit codes: 0 on success; 2 for bad arguments or unreadable data, with a message naming the problem.
 */
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportFeatures } from './features-export';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `usage: npm run features -- [--data-dir DIR] [--symbols A,B,...] [--from YYYY-MM-DD] [--to YYYY-MM-DD] --out FILE.csv

  --data-dir  folder of daily CSVs named SYMBOL.csv or SYMBOL_data.csv
              (default: data/daily; the full S&P 500 set is data/sp500-daily-2013-2018)
  --symbols   symbols to export (default: every symbol in --data-dir except SPY)
  --from/--to first/last session written (inclusive); earlier bars still warm the indicators up
  --out       the CSV to write (required); columns: symbol,date,open,high,low,close,volume,quality,
              then the features in docs/FEATURES.md order; an undefined value is an empty cell;
              quality names the data-quality rules that flag the session (e.g. REPEATED_BAR), else empty`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        symbols: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (!args.out) {
    console.error(`--out FILE.csv is required\n${USAGE}`);
    return 2;
  }
  const symbols = args.symbols?.split(',').map((s) => s.trim()).filter(Boolean);
  if (symbols !== undefined && symbols.length === 0) {
    console.error(`--symbols is empty\n${USAGE}`);
    return 2;
  }
  const started = performance.now();
  try {
    const summary = await exportFeatures({
      dataDir: resolve(args['data-dir'] ?? resolve(ROOT, 'data/daily')),
      ...(symbols ? { symbols } : {}),
      ...(args.from ? { from: args.from } : {}),
      ...(args.to ? { to: args.to } : {}),
      out: resolve(args.out),
      benchmarkDir: resolve(ROOT, 'data/daily'),
      calendarFile: resolve(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv'),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`wrote ${summary.rows} rows × ${summary.featureColumns} features for ${summary.symbols} symbols to ${summary.out} in ${seconds}s`);
    console.log(`benchmark: ${summary.benchmark}`);
    for (const s of summary.skipped) console.log(`skipped ${s.symbol}: ${s.reason}`);
    for (const d of summary.defects) console.log(`dropped ${d.rows} row(s) of ${d.symbol} refused by the data-quality gate, first: ${d.first}`);
    if (summary.flaggedRows > 0) console.log(`${summary.flaggedRows} written row(s) carry a data-quality flag in the quality column`);
    return 0;
  } catch (error) {
    console.error(`features: ${(error as Error).message}`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
