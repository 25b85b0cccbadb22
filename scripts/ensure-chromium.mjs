#!/usr/bin/env node
/**
 * Makes sure the headless Chromium the HTML-report browser test uses (/usr/bin/chromium, the
 * Debian/Ubuntu `chromium` package) is installed before the test suite runs.
 *
 * - /usr/bin/chromium exists, or SKIP_BROWSER_TESTS=1: exits 0 without output.
 * - Otherwise, as root with apt-get available: runs `apt-get update` and
 *   `apt-get install -y --no-install-recommends chromium` (non-interactive, output shown) and
 *   exits with apt-get's status.
 * - Otherwise: prints how to install it (or how to skip the browser tests) and exits 1.
 *
 * Plain Node ESM, no dependencies: it runs before anything is compiled.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const CHROMIUM = '/usr/bin/chromium';

/** Absolute path of `name` on PATH, or null. */
function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** Runs a command with inherited output; returns its exit status (1 when it could not start or was killed). */
function run(command, args, env) {
  console.error(`ensure-chromium: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.error) {
    console.error(`ensure-chromium: could not run ${command}: ${result.error.message}`);
    return 1;
  }
  return result.status ?? 1;
}

function main() {
  if (existsSync(CHROMIUM) || process.env.SKIP_BROWSER_TESTS === '1') return 0;

  const aptGet = which('apt-get');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && aptGet) {
    console.error(`ensure-chromium: ${CHROMIUM} is missing (needed by the HTML report browser test); installing the Debian package "chromium".`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const updated = run(aptGet, ['update'], env);
    if (updated !== 0) return updated;
    const installed = run(aptGet, ['install', '-y', '--no-install-recommends', 'chromium'], env);
    if (installed === 0 && !existsSync(CHROMIUM)) {
      console.error(`ensure-chromium: apt-get succeeded but ${CHROMIUM} is still missing.`);
      return 1;
    }
    return installed;
  }

  console.error(
    [
      `ensure-chromium: ${CHROMIUM} is missing. The HTML report is tested in headless Chromium (test/local/html-report.test.ts).`,
      '  Install it (Debian/Ubuntu):  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium',
      '  or skip the browser tests:   SKIP_BROWSER_TESTS=1 npm test',
    ].join('\n'),
  );
  return 1;
}

process.exit(main());
