/**
 * Where the gates get contract details from (issue 13, MONEY-9 / MONEY-10). The tick size and
 * the multiplier are checked before a card is shown, and the broker may be down at that moment
 * (IB Gateway's nightly restart, a CLI process that does not own the session). In order:
 *
 *   1. the broker's qualification (reqContractDetails; the adapter caches it per process) — the
 *      truth, stored in the database (kv `contract:<instrument id>`, rememberContract, in the
 *      intake's own transaction) when it changed or once a day;
 *   2. broker unreachable: that stored copy — a listed contract's tick and multiplier do not
 *      change during its life, so a copy from an earlier session is as good as a fresh answer;
 *   3. never qualified: the rule table (contract-facts.ts KNOWN_FUTURES, stocks) for the
 *      instruments whose specs are fixed; the adapter re-checks against the live contract at
 *      submission, so the table can at worst make a submission be refused, never send a wrong
 *      order;
 *   4. otherwise fail closed: CONTRACT_UNKNOWN with the reason, no card. An intent Phoenix
 *      cannot check is not shown to a human as if it had been checked.
 * A broker that answers "no such contract" (IBKR 200, ambiguous) is believed: no fallback.
 */
import { BrokerRefusedError, type Instrument } from './broker.port.js';
import { ruleFacts, type ContractFacts, type ContractLookup } from './contract-facts.js';
import type { EngineContext } from './context.js';
import { instrumentId } from './instrument.js';
import type { Tx } from './store.port.js';
import { kvKeyOf } from './kv.keys.js';

/** Intake answers within seconds (TradingView waits 3 s): a slower qualification falls back. */
export const CONTRACT_LOOKUP_TIMEOUT_MS = 2_000;
/** The stored copy's timestamp is refreshed at most this often when nothing changed. */
const REFRESH_STORED_MS = 24 * 60 * 60_000;


class LookupTimeout extends Error {}

/** Contract details for the gates: broker → stored copy → rule table → unknown (see above). */
export async function lookupContract(ctx: EngineContext, instrument: Instrument): Promise<ContractLookup> {
  const key = instrumentId(instrument);
  let why: string;
  try {
    const q = await withDeadline(ctx, ctx.broker.qualify(instrument), CONTRACT_LOOKUP_TIMEOUT_MS);
    const facts: ContractFacts = {
      conId: q.conId,
      ...(q.localSymbol ? { localSymbol: q.localSymbol } : {}),
      minTick: q.minTick,
      multiplier: q.instrument.multiplier,
      source: 'broker',
      qualifiedAt: ctx.clock.now(),
    };
    return { ok: true, facts }; // the caller stores it in its own transaction (rememberContract)
  } catch (e) {
    if (e instanceof BrokerRefusedError) return { ok: false, reason: `the broker does not know this contract (${e.code}: ${e.message})` };
    why = e instanceof LookupTimeout ? `no answer within ${CONTRACT_LOOKUP_TIMEOUT_MS / 1000} s` : (e as Error).message;
    ctx.logger.warn({ instrumentKey: key, err: why }, 'contract details from the broker unavailable; using the stored copy');
  }
  const known = await ctx.store.tx((tx) => withoutBroker(tx, instrument, key));
  if (known) return { ok: true, facts: known };
  return { ok: false, reason: `contract details of ${key} are unknown: the broker cannot be asked (${why}) and never qualified it, so its tick size and multiplier cannot be checked; send it again once the broker is connected` };
}

/** Steps 2 and 3 without asking the broker: the stored copy, else the rule table. */
export async function withoutBroker(tx: Tx, instrument: Instrument, instrumentKey: string = instrumentId(instrument)): Promise<ContractFacts | null> {
  return (await storedContract(tx, instrumentKey)) ?? ruleFacts(instrument) ?? null;
}

/** The copy stored at the last qualification (source 'cache'), or null. */
export async function storedContract(tx: Tx, instrumentKey: string): Promise<ContractFacts | null> {
  const raw = await tx.kv.get(kvKeyOf.contract(instrumentKey));
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<ContractFacts>;
    if (!(typeof v.minTick === 'number' && v.minTick > 0 && typeof v.multiplier === 'number' && v.multiplier > 0)) return null;
    return { conId: v.conId ?? 0, ...(v.localSymbol ? { localSymbol: v.localSymbol } : {}), minTick: v.minTick, multiplier: v.multiplier, source: 'cache', qualifiedAt: v.qualifiedAt ?? null };
  } catch {
    return null;
  }
}

/** Keep the broker's answer for when it cannot be asked (only when it changed, or once a day). */
export async function rememberContract(tx: Tx, instrumentKey: string, lookup: ContractLookup, now: number): Promise<void> {
  if (!lookup.ok || lookup.facts.source !== 'broker') return;
  const facts = lookup.facts;
  const old = await storedContract(tx, instrumentKey);
  const same = old && old.conId === facts.conId && old.minTick === facts.minTick && old.multiplier === facts.multiplier && old.localSymbol === facts.localSymbol;
  if (same && old.qualifiedAt !== null && now - old.qualifiedAt < REFRESH_STORED_MS) return;
  const { source: _source, ...rest } = facts;
  await tx.kv.set(kvKeyOf.contract(instrumentKey), JSON.stringify(rest), now);
}

/** The broker's answer, or LookupTimeout after `ms` of the injected clock. */
function withDeadline<T>(ctx: EngineContext, p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = ctx.clock.schedule(ms, () => reject(new LookupTimeout()));
    p.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (e: unknown) => {
        cancel();
        reject(e);
      },
    );
  });
}
