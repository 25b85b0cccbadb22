/**
 * Local alert sink: prints each alert to the console and appends it as one JSON line to
 * `alerts.jsonl` in the state directory. Keeps the alerts of this process in memory for reports.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Alert, AlertPort } from '../../ports';

export class LocalAlertSink implements AlertPort {
  readonly published: Alert[] = [];

  constructor(
    private readonly file: string,
    private readonly print: (line: string) => void = (line) => console.error(line),
  ) {}

  async publish(alert: Alert): Promise<void> {
    this.published.push(alert);
    this.print(`[alert] ${alert.severity} ${alert.type}: ${alert.message}`);
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(alert)}\n`);
  }
}
