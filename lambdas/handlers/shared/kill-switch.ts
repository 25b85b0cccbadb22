/** Reading the kill switch through its port, failing closed (see core/kill-switch). */
import { interpretKillSwitch, type KillSwitchStatus } from '../../core/kill-switch';
import type { KillSwitchPort } from '../../ports';

/**
 * Reads the kill switch fresh (no cache). Never throws: any read error yields HALTED with
 * `failedClosed: true` and the error in the reason.
 */
export async function readKillSwitch(port: KillSwitchPort): Promise<KillSwitchStatus> {
  try {
    const raw = await port.read();
    return interpretKillSwitch({ ok: true, value: raw.value, ...(raw.lastModified ? { lastModified: raw.lastModified } : {}) });
  } catch (error) {
    const e = error as { name?: string; message?: string };
    return interpretKillSwitch({ ok: false, error: `${e.name ?? 'Error'}: ${e.message ?? String(error)}` });
  }
}
