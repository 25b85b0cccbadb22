/**
 * Absolute paths the CDK app needs, computed from this module's URL (the project is ESM, so there is
 * no `__dirname`). Every path is derived from the repository root, so `cdk synth` works from any
 * working directory.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (the directory holding package.json and package-lock.json). */
export const REPO_ROOT: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** npm lock file; the Lambda bundler pins dependency versions from it. */
export const LOCK_FILE: string = path.join(REPO_ROOT, 'package-lock.json');

/** Directory of the Lambda handler entry files (`<name>.ts`, each exporting `handler`). */
export const HANDLERS_DIR: string = path.join(REPO_ROOT, 'lambdas', 'handlers');

/** The Amazon States Language file: the single source of truth for the state machine. */
export const STATE_MACHINE_ASL_FILE: string = path.join(REPO_ROOT, 'state-machines', 'trading-pipeline.asl.json');

/** Repository-relative directories copied into the asset of functions that read bundled data. */
export const BUNDLED_DATA_DIRS = ['data/daily', 'data/calendars'] as const;

/** Where the bundled data lands inside the Lambda (`/var/task` is the unpacked asset root). */
export const LAMBDA_TASK_ROOT = '/var/task';

/** Market-data directory inside the Lambda (DATA_DIR). */
export const LAMBDA_DATA_DIR = `${LAMBDA_TASK_ROOT}/data/daily`;

/** NYSE session calendar inside the Lambda (CALENDAR_FILE). */
export const LAMBDA_CALENDAR_FILE = `${LAMBDA_TASK_ROOT}/data/calendars/xnys-sessions-1990-2023.csv`;
