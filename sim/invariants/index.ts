/**
 * The invariant registry: every check the simulator runs, by id. To add one, write a small
 * module exporting an `Invariant` (types.ts) named after its SPEC 14 id and list it here
 * (see docs/SIMULATION.md).
 */
import { auditChain, positionAudit, positionSm, tokenAudit, tokenSingleUse } from './audit.js';
import { flattenDeadline } from './deadline.js';
import { accountScope, fillComplete, pnlDayBooked } from './fills.js';
import { killLastMoment } from './kill.js';
import { dayLimits } from './limits.js';
import { evidenceOrder, idempotentOrder, t2Gate } from './orders.js';
import { outbox } from './outbox.js';
import { confirmAsker, haltFast, staleKill } from './people.js';
import { flattenExit, instrumentIdentity } from './positions.js';
import { protectedPositions } from './protected.js';
import { reconcileReadonly } from './readonly.js';
import { secretRows } from './secret.js';
import { reconcileAlert, submittedTtl } from './timing.js';
import type { Invariant } from './types.js';

/** A fresh set (some keep state across steps: cursors, clocks). */
export function allInvariants(): Invariant[] {
  return [
    instrumentIdentity(),
    flattenExit(),
    idempotentOrder,
    t2Gate(),
    evidenceOrder(),
    killLastMoment,
    dayLimits(),
    auditChain(),
    positionSm,
    positionAudit(),
    tokenSingleUse(),
    tokenAudit(),
    outbox(),
    secretRows(),
    reconcileReadonly(),
    protectedPositions(),
    fillComplete(),
    pnlDayBooked(),
    accountScope,
    flattenDeadline,
    submittedTtl(),
    reconcileAlert(),
    haltFast,
    confirmAsker(),
    staleKill,
  ];
}

export const INVARIANT_IDS: readonly string[] = allInvariants().map((i) => i.id);
