/**
 * Contract qualification (reqContractDetails) and the conId → instrument map the order book and
 * positions use. The tick size and the multiplier come from the contract details, never from
 * the request (MONEY-10): an intent whose multiplier is not the contract's is refused later, in
 * the order path. Qualifications are cached per instrument key and single-flight.
 */
import type { Contract, ContractDetails } from '@stoqey/ib';
import { BrokerRefusedError, BrokerUnavailableError, type Clock, type Instrument, type QualifiedContract } from '../../engine/index.js';
import type { IbSession } from './connection.js';
import { contractToInstrument, instrumentKey, instrumentToContract, qualifiedOrderContract } from './ib.parse.js';
import type { IbRequests } from './ib.requests.js';
import { pickContract } from './ib.validate.js';

export interface QualifiedEntry extends QualifiedContract {
  readonly contract: Contract;
}

interface ReqHandler {
  data?(d: ContractDetails): void;
  end?(): void;
  error(code: number, message: string): void;
}

export class IbContracts {
  private readonly qualified = new Map<string, QualifiedEntry>();
  private readonly qualifying = new Map<string, Promise<QualifiedEntry>>();
  private readonly instrumentByConId = new Map<number, Instrument>();
  private readonly reqHandlers = new Map<number, ReqHandler>();

  constructor(
    private readonly clock: Clock,
    private readonly requests: IbRequests,
    private readonly requireSession: () => IbSession,
  ) {}

  qualify(instrument: Instrument): Promise<QualifiedEntry> {
    const key = instrumentKey(instrument);
    const hit = this.qualified.get(key);
    if (hit) return Promise.resolve(hit);
    const inflight = this.qualifying.get(key);
    if (inflight) return inflight;
    const s = this.requireSession();
    const p = this.fetchQualified(s, instrument, key).finally(() => this.qualifying.delete(key));
    this.qualifying.set(key, p);
    return p;
  }

  /** The instrument we qualified for this conId (the exact object the engine used). */
  instrumentFor(conId: number | undefined): Instrument | undefined {
    return conId ? this.instrumentByConId.get(conId) : undefined;
  }

  /** An execution names a contract we never qualified: remember its instrument. */
  learn(contract: Contract): void {
    if (!contract.conId || this.instrumentByConId.has(contract.conId)) return;
    const inst = contractToInstrument(contract);
    if (inst) this.instrumentByConId.set(contract.conId, inst);
  }

  // === listener hooks (events.ts)

  onDetails(reqId: number, d: ContractDetails): void {
    this.reqHandlers.get(reqId)?.data?.(d);
  }

  onDetailsEnd(reqId: number): void {
    this.reqHandlers.get(reqId)?.end?.();
  }

  /** An error for one of our contract-details requests; false when `reqId` is not one. */
  onError(reqId: number, code: number, message: string): boolean {
    const handler = reqId !== -1 ? this.reqHandlers.get(reqId) : undefined;
    if (!handler) return false;
    handler.error(code, message);
    return true;
  }

  // === internals

  private async fetchQualified(s: IbSession, instrument: Instrument, key: string): Promise<QualifiedEntry> {
    const details = await this.contractDetails(s, instrumentToContract(instrument));
    const d = pickContract(details, instrument, this.clock.now());
    const conId = d.contract.conId;
    if (!conId) throw new BrokerRefusedError('CONTRACT_NOT_FOUND', `no conId for ${key}`);
    // the contract's multiplier, never the request's (MONEY-10); stocks report none: 1
    const multiplier = instrument.secType === 'FUT' && d.contract.multiplier && d.contract.multiplier > 0 ? Number(d.contract.multiplier) : instrument.secType === 'FUT' ? NaN : 1;
    if (!(multiplier > 0)) throw new BrokerRefusedError('CONTRACT_NOT_FOUND', `${key}: the contract details carry no multiplier`);
    const trusted: Instrument = { ...instrument, multiplier };
    const entry: QualifiedEntry = {
      instrument: trusted,
      conId,
      minTick: d.minTick && d.minTick > 0 ? d.minTick : 0.01,
      ...(d.contract.localSymbol ? { localSymbol: d.contract.localSymbol } : {}),
      contract: qualifiedOrderContract(instrument, conId),
    };
    this.qualified.set(key, entry);
    this.instrumentByConId.set(conId, trusted);
    return entry;
  }

  private async contractDetails(s: IbSession, contract: Contract): Promise<ContractDetails[]> {
    const reqId = this.requests.nextReqId();
    const p = this.requests.pending<ContractDetails[]>(`contract details ${contract.symbol ?? ''}`, this.requests.timeoutMs, true);
    const rows: ContractDetails[] = [];
    this.reqHandlers.set(reqId, {
      data: (d) => rows.push(d),
      end: () => p.resolve(rows),
      error: (code, message) =>
        p.reject(
          code === 200
            ? new BrokerRefusedError('CONTRACT_NOT_FOUND', `${contract.symbol}: ${message}`)
            : new BrokerUnavailableError(`contract details failed (${code}): ${message}`),
        ),
    });
    try {
      this.requests.paced(s, p, () => s.ib.reqContractDetails(reqId, contract));
      return await p.promise;
    } finally {
      this.reqHandlers.delete(reqId);
    }
  }
}
