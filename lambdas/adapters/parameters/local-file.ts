/**
 * Kill switch for local runs: a JSON file in the state directory,
 * `{ "value": "ARMED", "lastModified": "2018-02-07T14:00:00.000Z" }`.
 * A missing or corrupt file is an error here; the caller fails closed to HALTED.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock, KillSwitchPort, RawParameter } from '../../ports';

export class LocalFileKillSwitch implements KillSwitchPort {
  constructor(
    private readonly file: string,
    private readonly clock: Clock,
  ) {}

  async read(): Promise<RawParameter> {
    const parsed = JSON.parse(await readFile(this.file, 'utf8')) as Partial<RawParameter>;
    if (typeof parsed.value !== 'string') throw new Error(`${this.file} has no string "value"`);
    return { value: parsed.value, ...(parsed.lastModified ? { lastModified: parsed.lastModified } : {}) };
  }

  /**
   * Sets the value. Setting the value it already has is not a change: the file (and its
   * lastModified, which starts the kill switch's cooling-off) is left alone. Otherwise the value is
   * stamped with `options.lastModified` or the clock's now.
   */
  async write(value: string, options: { lastModified?: string } = {}): Promise<void> {
    try {
      if ((await this.read()).value === value) return;
    } catch {
      // missing or unreadable: write it
    }
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ value, lastModified: options.lastModified ?? this.clock.now().toISOString() }, null, 2)}\n`);
    await rename(tmp, this.file);
  }

  /** True when the file exists (a state directory that has been initialised). */
  async exists(): Promise<boolean> {
    try {
      await readFile(this.file);
      return true;
    } catch {
      return false;
    }
  }
}
