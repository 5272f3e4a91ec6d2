/**
 * Dead-man's switch (SPEC 10, optional): on every OK heartbeat, GET `HEARTBEAT_PING_URL`
 * (healthchecks.io style) so an outside service notices when the whole process is gone.
 * Short timeout; a failure is logged and never thrown: the ping must not hurt the heartbeat.
 */
import type { Logger } from '../engine/index.js';

export const PING_TIMEOUT_MS = 3_000;

export async function pingDeadMansSwitch(url: string, fetchImpl: typeof fetch, logger: Logger, timeoutMs = PING_TIMEOUT_MS): Promise<boolean> {
  try {
    const res = await fetchImpl(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => {});
    if (!res.ok) {
      logger.warn({ status: res.status }, 'heartbeat ping answered with an error status');
      return false;
    }
    return true;
  } catch (e) {
    logger.warn({ err: (e as Error).message }, 'heartbeat ping failed');
    return false;
  }
}
