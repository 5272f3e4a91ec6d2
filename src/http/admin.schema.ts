/**
 * The wire format of GET /v1/admin/status (admin.route.ts), shared by the service that writes
 * it and the CLI that reads it (src/cli/service-client.ts parses it with this schema: a
 * program on the port that is not this Phoenix, or an older one, is told apart, not trusted).
 */
import { z } from 'zod';
import type { StatusSnapshot } from '../engine/index.js';

/** version of the admin answer; the CLI refuses answers it does not know */
export const ADMIN_API = 'phoenix-admin/1';

/** What the running service is: fixed at start-up, no secrets. */
export interface ServiceFacts {
  readonly version: string;
  readonly pid: number;
  /** epoch ms, the service's clock */
  readonly startedAt: number;
  /** absolute path of its SQLite file: the CLI talks to a service only on its own database */
  readonly database: string;
  /** started with `--demo`: the demo data directory, never the real database */
  readonly demoData: boolean;
  readonly constitution: { readonly name: string; readonly path: string; readonly demo: boolean; readonly timeZone: string };
  readonly mode: 'observe' | 'paper' | 'live';
  readonly broker: { readonly name: string; readonly host?: string; readonly port?: number; readonly clientId?: number; readonly account?: string };
  /** where intake listens */
  readonly intake: string;
  /** 'telegram' or 'sandbox' */
  readonly telegram: string;
}

const facts = z.object({
  version: z.string(),
  pid: z.number().int(),
  startedAt: z.number(),
  database: z.string().min(1),
  demoData: z.boolean(),
  constitution: z.object({ name: z.string(), path: z.string(), demo: z.boolean(), timeZone: z.string() }),
  mode: z.enum(['observe', 'paper', 'live']),
  broker: z.object({ name: z.string(), host: z.string().optional(), port: z.number().optional(), clientId: z.number().optional(), account: z.string().optional() }),
  intake: z.string(),
  telegram: z.string(),
});

const health = z.looseObject({ status: z.string(), reasons: z.array(z.string()), broker: z.string(), killActive: z.boolean() });

const status = z.looseObject({
  at: z.number(),
  mode: z.enum(['observe', 'paper', 'live']),
  demo: z.boolean(),
  constitution: z.string(),
  broker: z.looseObject({ name: z.string(), state: z.string(), canSubmit: z.boolean() }),
  kills: z.array(z.looseObject({ kind: z.string(), reason: z.string(), setBy: z.string() })),
  open: z.array(z.looseObject({ id: z.string(), state: z.string() })),
  pending: z.array(z.looseObject({ id: z.string() })),
  today: z.looseObject({ realizedPnlCents: z.number(), consecutiveLosses: z.number(), trades: z.number() }),
  lastHeartbeat: z.looseObject({ at: z.number(), status: z.string() }).nullable(),
  lastReconciliation: z.number().nullable(),
  outbox: z.looseObject({ backlog: z.number() }),
  unresolvedDrifts: z.array(z.looseObject({ id: z.string() })),
});

export const adminStatusSchema = z.object({ phoenix: z.literal(ADMIN_API), at: z.number(), service: facts, health, status });

export interface AdminStatus {
  readonly at: number;
  readonly service: ServiceFacts;
  readonly health: z.infer<typeof health>;
  readonly status: StatusSnapshot;
}

/** The answer, checked; null when it is not (this version of) Phoenix's admin answer. */
export function parseAdminStatus(body: unknown): AdminStatus | null {
  const r = adminStatusSchema.safeParse(body);
  // the snapshot's inner records are the engine's own (checked where it matters above)
  return r.success ? { at: r.data.at, service: r.data.service as ServiceFacts, health: r.data.health, status: r.data.status as unknown as StatusSnapshot } : null;
}
