/**
 * GET /healthz (SPEC 17): readiness plus what an operator needs at a glance.
 *
 *   503 {status: 'starting' | 'stopping', reasons}   the bot, alert sender or jobs do not run
 *   200 {status: 'ok'}                               ready, broker READY, last heartbeat OK
 *   200 {status: 'degraded', reasons}                ready, but the broker is not READY (or cannot
 *                                                    submit), or the heartbeat is DEGRADED/late
 *
 * Why a DOWN broker is 200 'degraded' and not 503: readiness tells a load balancer or supervisor
 * whether to send traffic here. With IB Gateway down Phoenix still must take intents (they are
 * gated and wait), serve /halt and /status, and send the alerts that say the broker is down;
 * taking it out of rotation (or restarting it) would silence exactly that and fix nothing. The
 * status field says degraded, with the reason, so no one reads a DOWN broker as "ok".
 */
import { heartbeatGap, type BrokerHealth, type HealthSnapshot } from '../engine/index.js';
import type { ReadinessView } from './readiness.js';

export type HealthStatus = 'starting' | 'stopping' | 'ok' | 'degraded';

export interface HealthInputs {
  readonly now: number;
  readonly readiness: ReadinessView;
  readonly snapshot: HealthSnapshot;
  readonly broker: BrokerHealth & { readonly name: string };
}

export interface HealthAnswer {
  readonly code: 200 | 503;
  readonly status: HealthStatus;
  readonly body: Record<string, unknown>;
}

export function healthAnswer(i: HealthInputs): HealthAnswer {
  const { snapshot: s, broker: b } = i;
  const parts = i.readiness.parts();
  const reasons: string[] = [];
  let status: HealthStatus;
  if (!i.readiness.ready) {
    status = Object.values(parts).includes('stopped') ? 'stopping' : 'starting';
    reasons.push(...i.readiness.blocking());
  } else {
    if (b.state !== 'READY') reasons.push(`broker ${b.name} ${b.state}${b.detail ? `: ${b.detail}` : ''} (entries wait until it is READY)`);
    else if (!b.canSubmit) reasons.push(`broker ${b.name} connected but cannot submit${b.detail ? `: ${b.detail}` : ''}`);
    if (s.lastHeartbeat && s.lastHeartbeat.status !== 'OK') reasons.push(`last heartbeat ${s.lastHeartbeat.status} (phoenix status shows why)`);
    if (parts.jobs === 'running') {
      const gap = heartbeatGap(i.now, s.lastHeartbeat?.at ?? null);
      if (!s.lastHeartbeat) reasons.push('no heartbeat recorded yet');
      else if (gap.missed) reasons.push(`no heartbeat for ${gap.gapSec} s (jobs stuck?)`);
    }
    status = reasons.length ? 'degraded' : 'ok';
  }
  const hb = s.lastHeartbeat;
  return {
    code: status === 'starting' || status === 'stopping' ? 503 : 200,
    status,
    body: {
      status,
      ready: i.readiness.ready,
      reasons,
      parts,
      mode: s.mode,
      demo: s.demo,
      broker: b.state,
      brokerName: b.name,
      canSubmit: b.canSubmit,
      ...(b.detail ? { brokerDetail: b.detail } : {}),
      killActive: s.killActive,
      lastHeartbeat: hb ? { at: hb.at, ageSec: Math.max(0, Math.round((i.now - hb.at) / 1000)), status: hb.status } : null,
      outboxBacklog: s.outboxBacklog,
    },
  };
}

/** What a caller without the bearer token learns when INTAKE_TOKEN is set: up or down. */
export function minimalHealth(a: HealthAnswer): { code: 200 | 503; body: { status: 'up' | 'down' } } {
  return { code: a.code, body: { status: a.code === 200 ? 'up' : 'down' } };
}
