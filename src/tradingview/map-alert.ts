/**
 * TradingView alert → intent wire format (SPEC 3). Pure: the alert body (passphrase already
 * removed), the mapping file and the time zone in; an intent for engine.submitIntent out, or
 * "this is an exit" (Phoenix's own stop/target manage exits), or every problem with its path.
 *
 * Idempotency key (TradingView re-sends the same body): signalId = "tv-" + the first 40 hex
 * digits of SHA-256 over the canonical JSON (sorted keys, no whitespace) of the alert body
 * WITHOUT the passphrase. A re-send is byte-for-byte the same alert, so it maps to the same
 * signalId and the engine answers it as a duplicate. Two different alerts differ at least in
 * `time` ({{timenow}}, to the second), so `time` is required.
 */
import { canonicalJson, sha256Hex, TEMPLATE_FIELDS, type IntentInput, type TemplateField, type ValidationIssue } from '../engine/index.js';
import { alertSchema, type TradingViewAlert } from './alert.schema.js';
import { expiryDay, frontContract, isoDay, localDayNumber, MONTH_CODES, QUARTERLY_MONTHS, yyyymm, type ContractMonth } from './front-month.js';
import type { MappedInstrument, Offset, TradingViewMapping } from './mapping.schema.js';

export type MapResult =
  | { readonly kind: 'intent'; readonly intent: IntentInput; readonly signalId: string }
  | { readonly kind: 'exit'; readonly signalId: string; readonly reason: string }
  | { readonly kind: 'invalid'; readonly issues: readonly ValidationIssue[] };

/** SHA-256 of the canonical alert body (passphrase removed): the idempotency key's source. */
export const alertKeyHash = (alertWithoutPassphrase: Record<string, unknown>): string => sha256Hex(canonicalJson(alertWithoutPassphrase));

const invalid = (path: string, message: string): MapResult => ({ kind: 'invalid', issues: [{ path, message }] });

interface Ticker {
  readonly root: string;
  /** 1 = front month (`MES1!` or a bare `MES`), 2 = the next … */
  readonly nth: number;
  /** an explicit contract (`MESZ2026`) */
  readonly month: ContractMonth | null;
}

/** `CME_MINI:MES1!` → MES, 1; `MESZ2026` → MES, Dec 2026; `AAPL` → AAPL. */
export function parseTicker(raw: string, known: (root: string) => boolean): Ticker | null {
  const t = raw.trim().toUpperCase().replace(/^[A-Z0-9_]+:/, '');
  const cont = /^([A-Z0-9]+?)([1-9])!$/.exec(t);
  if (cont) return { root: cont[1]!, nth: Number(cont[2]), month: null };
  const dated = /^([A-Z0-9]+?)([FGHJKMNQUVXZ])(\d{4})$/.exec(t);
  if (dated && known(dated[1]!)) return { root: dated[1]!, nth: 1, month: { year: Number(dated[3]), month: MONTH_CODES.indexOf(dated[2]!) + 1 } };
  return /^[A-Z0-9.]{1,16}$/.test(t) ? { root: t, nth: 1, month: null } : null;
}

function decimals(tick: number): number {
  const s = String(tick);
  return s.includes('e-') ? Number(s.split('e-')[1]) : (s.split('.')[1] ?? '').length;
}
const onTick = (price: number, tick: number): number => Number((Math.round(price / tick) * tick).toFixed(decimals(tick)));
const distance = (o: Offset, tick: number): number => ('ticks' in o ? o.ticks * tick : o.points);

export interface MapOptions {
  readonly mapping: TradingViewMapping;
  /** the exchange's time zone for the roll date (the constitution's, America/New_York) */
  readonly timeZone: string;
}

/** Map one alert body (passphrase removed) onto an intent. */
export function mapAlert(body: Record<string, unknown>, opts: MapOptions): MapResult {
  const parsed = alertSchema.safeParse(body);
  if (!parsed.success) {
    return {
      kind: 'invalid',
      issues: parsed.error.issues.map((i) => ({ path: i.path.length ? i.path.join('.') : '(body)', message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')} (see README "TradingView" for the template)` : i.message })),
    };
  }
  const a = parsed.data;
  const hash = alertKeyHash(body);
  const signalId = `tv-${hash.slice(0, 40)}`;
  const side = a.action === 'buy' ? 'BUY' : 'SELL';
  // A strategy alerts on every order, exits included; Phoenix proposes entries only.
  if (a.marketPosition && a.marketPosition !== (side === 'BUY' ? 'long' : 'short')) {
    return { kind: 'exit', signalId, reason: `strategy ${a.action} leaves the position ${a.marketPosition}: an exit; Phoenix's approved stop and target manage exits` };
  }
  const m = opts.mapping;
  const ticker = parseTicker(a.ticker, (root) => Object.prototype.hasOwnProperty.call(m.tickers, root));
  if (!ticker) return invalid('ticker', `ticker ${a.ticker} is not a symbol Phoenix can read (e.g. MES1!, NQ1!, MESZ2026, AAPL)`);
  const key = Object.prototype.hasOwnProperty.call(m.tickers, ticker.root) ? m.tickers[ticker.root]! : null;
  const ins = key ? m.instruments[key] : undefined;
  if (!key || !ins) return invalid('ticker', `ticker ${a.ticker} (root ${ticker.root}) is not under tickers: in the TradingView mapping file (known: ${Object.keys(m.tickers).join(', ')})`);

  const instrument = instrumentFor(key, ins, ticker, Date.parse(a.time), opts.timeZone);
  if ('problem' in instrument) return invalid('ticker', instrument.problem);

  const fromTemplate: TemplateField[] = [];
  const template = <T>(field: TemplateField, v: T): T => (fromTemplate.push(field), v);
  const tick = ins.tickSize;
  const entry = onTick(a.price, tick);
  const sign = side === 'BUY' ? 1 : -1;
  const leg = (absolute: number | undefined, ticks: number | undefined, points: number | undefined, dir: 1 | -1, field: 'stopLoss' | 'takeProfit', fallback: Offset): number => {
    if (absolute !== undefined) return onTick(absolute, tick);
    const d = ticks !== undefined ? ticks * tick : points !== undefined ? points : template(field, distance(fallback, tick));
    return onTick(entry + dir * sign * d, tick);
  };
  const stopLoss = leg(a.stop, a.stopTicks, a.stopPoints, -1, 'stopLoss', ins.stop ?? m.stop);
  const takeProfit = leg(a.target, a.targetTicks, a.targetPoints, 1, 'takeProfit', ins.target ?? m.target);

  const ev = a.evidence ?? {};
  const d = m.evidence;
  const evidence = {
    setupScore: ev.setupScore ?? template('setupScore', d.setupScore),
    breakdown: ev.breakdown ?? template('breakdown', d.breakdown),
    alignment: ev.alignment ?? a.comment ?? template('alignment', d.alignment),
    redChecks: ev.redChecks ?? template('redChecks', d.redChecks),
    dvs: ev.dvs ?? template('dvs', d.dvs),
    eqs: ev.eqs ?? template('eqs', d.eqs),
  };
  const quantity = ins.fixedQuantity ?? quantityOf(a) ?? template('quantity', m.quantity);

  const intent: IntentInput = {
    signalId,
    strategy: a.strategy ?? m.strategy,
    instrument,
    side,
    quantity,
    orderType: m.orderType,
    entryPrice: entry,
    stopLoss,
    takeProfit,
    evidence,
    stateHash: `sha256:${hash}`,
    stateAsOf: a.time,
    ...(m.ttlSec !== undefined ? { ttlSec: m.ttlSec } : {}),
    ...(fromTemplate.length ? { fromTemplate: sortFields(fromTemplate) } : {}),
  };
  return { kind: 'intent', intent, signalId };
}

/**
 * The entry part of the order: {{strategy.order.contracts}}, but for a reversal (long 1 →
 * short 1 sends contracts 2) only the new position, |{{strategy.position_size}}|.
 */
function quantityOf(a: TradingViewAlert): number | undefined {
  if (a.contracts === undefined) return undefined;
  return a.positionSize !== undefined && a.positionSize !== 0 ? Math.min(a.contracts, Math.abs(a.positionSize)) : a.contracts;
}

const sortFields = (f: TemplateField[]) => TEMPLATE_FIELDS.filter((x) => f.includes(x));

function instrumentFor(key: string, ins: MappedInstrument, t: Ticker, atMs: number, timeZone: string): IntentInput['instrument'] | { problem: string } {
  const symbol = ins.symbol ?? key;
  if (ins.secType === 'STK') {
    if (t.nth !== 1 || t.month) return { problem: `${symbol} is a stock: a futures ticker (1!, 2!, month code) does not apply` };
    return { symbol, secType: 'STK', exchange: ins.exchange, currency: ins.currency };
  }
  const roll = ins.roll!;
  let month: ContractMonth;
  if (t.month) {
    if (!(QUARTERLY_MONTHS as readonly number[]).includes(t.month.month)) return { problem: `${symbol} is listed for March, June, September and December only (H, M, U, Z)` };
    if (localDayNumber(atMs, timeZone) > expiryDay(t.month)) return { problem: `${symbol} ${yyyymm(t.month)} expired on ${isoDay(expiryDay(t.month))}` };
    month = t.month;
  } else {
    month = frontContract(atMs, timeZone, roll, t.nth);
  }
  return { symbol, secType: 'FUT', exchange: ins.exchange, currency: ins.currency, contractMonth: yyyymm(month), multiplier: ins.multiplier! };
}
