/**
 * The public wire format of a trade intent (SPEC 3). Strategies and alert webhooks are
 * written against these exact names; every edge (HTTP, CLI, demo generator) validates with
 * this one schema. Unknown fields are refused so typos never pass silently.
 */
import { z } from 'zod';

const finite = (what: string) =>
  z
    .number({ error: (iss) => (iss.input === undefined ? `${what} is required` : `${what} must be a number`) })
    .refine((n) => Number.isFinite(n), `${what} must be a finite number`)
    .refine((n) => Math.abs(n) < 1e9, `${what} is out of range`);
const price = (what: string) => finite(what).refine((n) => n > 0, `${what} must be greater than 0`);
const unit = (what: string) => finite(what).refine((n) => n >= 0 && n <= 1, `${what} must be between 0 and 1`);
const text = (what: string, max: number) =>
  z.string({ error: `${what} must be a string` }).trim().min(1, `${what} must not be empty`).max(max, `${what} is longer than ${max} characters`);

export const instrumentSchema = z
  .strictObject({
    // canonical spelling (upper case): the card shows, the hash covers and the order carries
    // the same bytes, and `mes`/`MES` are one instrument (INV-INSTRUMENT-ID-1)
    symbol: text('instrument.symbol', 16)
      .regex(/^[A-Za-z0-9.\-/ ]+$/, 'instrument.symbol has invalid characters')
      .transform((v) => v.toUpperCase()),
    secType: z.enum(['STK', 'FUT'], { error: 'instrument.secType must be STK or FUT' }),
    exchange: text('instrument.exchange', 16).transform((v) => v.toUpperCase()),
    currency: z.string().regex(/^[A-Z]{3}$/, 'instrument.currency must be a 3-letter code like USD'),
    contractMonth: z.string().regex(/^\d{6}$/, 'instrument.contractMonth must be YYYYMM').optional(),
    multiplier: finite('instrument.multiplier').refine((n) => n > 0 && n <= 100_000, 'instrument.multiplier must be between 0 and 100000').optional(),
  })
  .superRefine((ins, ctx) => {
    if (ins.secType === 'FUT') {
      if (!ins.contractMonth) ctx.addIssue({ code: 'custom', path: ['contractMonth'], message: 'futures need instrument.contractMonth (YYYYMM)' });
      if (ins.multiplier === undefined) ctx.addIssue({ code: 'custom', path: ['multiplier'], message: 'futures need instrument.multiplier' });
    } else {
      if (ins.contractMonth) ctx.addIssue({ code: 'custom', path: ['contractMonth'], message: 'stocks have no contractMonth' });
      if (ins.multiplier !== undefined && ins.multiplier !== 1) ctx.addIssue({ code: 'custom', path: ['multiplier'], message: 'stocks have multiplier 1' });
    }
  });

/**
 * zod's record silently SKIPS an own `__proto__` key (without validating its value), so
 * `"breakdown": {"__proto__": {...}}` would pass as an empty breakdown. Refuse it instead
 * (found by test/fuzz/intake.fuzz.test.ts): unknown or unsafe input is never dropped silently.
 */
const noProtoKey = (what: string) => (v: unknown, ctx: z.RefinementCtx) => {
  if (v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, '__proto__')) {
    ctx.addIssue({ code: 'custom', path: ['__proto__'], message: `${what} may not use the key __proto__` });
  }
  return v;
};

export const evidenceSchema = z.strictObject({
  setupScore: unit('evidence.setupScore'),
  breakdown: z.preprocess(
    noProtoKey('evidence.breakdown'),
    z.record(z.string().max(40), unit('evidence.breakdown value')).refine((r) => Object.keys(r).length <= 20, 'evidence.breakdown has more than 20 entries'),
  ),
  alignment: text('evidence.alignment', 300),
  redChecks: z.array(z.strictObject({ name: text('redChecks[].name', 120), passed: z.boolean({ error: 'redChecks[].passed must be true or false' }) })).max(20, 'at most 20 red checks'),
  dvs: unit('evidence.dvs'),
  eqs: unit('evidence.eqs'),
});

/**
 * Fields an alert template may fill in when the alert itself has none (TradingView intake):
 * the card names them "from template" so the approver knows which numbers nobody measured.
 */
export const TEMPLATE_FIELDS = ['quantity', 'stopLoss', 'takeProfit', 'setupScore', 'breakdown', 'alignment', 'redChecks', 'dvs', 'eqs'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

export const intentSchema = z
  .strictObject({
    signalId: text('signalId', 128).regex(/^[A-Za-z0-9._:\-]+$/, 'signalId may contain letters, digits and . _ : - only'),
    strategy: text('strategy', 64),
    instrument: instrumentSchema,
    side: z.enum(['BUY', 'SELL'], { error: 'side must be BUY or SELL' }),
    quantity: finite('quantity').refine((n) => n > 0, 'quantity must be greater than 0').refine((n) => Number.isInteger(n), 'quantity must be a whole number').refine((n) => n <= 10_000, 'quantity is over 10000'),
    orderType: z.enum(['MKT', 'LMT', 'BRACKET'], { error: 'orderType must be MKT, LMT or BRACKET' }),
    entryPrice: price('entryPrice').optional(),
    stopLoss: price('stopLoss'),
    takeProfit: price('takeProfit'),
    evidence: evidenceSchema,
    stateHash: text('stateHash', 200),
    stateAsOf: z.iso.datetime({ offset: true, error: 'stateAsOf must be an ISO-8601 date-time like 2026-11-23T14:35:00Z' }),
    ttlSec: z.number().int('ttlSec must be a whole number of seconds').min(30, 'ttlSec must be at least 30').max(3600, 'ttlSec must be at most 3600').optional(),
    /** optional market regime tag (e.g. trend, range): per-regime stale TTLs and promotion evidence */
    regime: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'regime must be a short lowercase tag like trend or range').optional(),
    /** optional: which fields came from a template default, not from the signal (shown on the card) */
    fromTemplate: z
      .array(z.enum(TEMPLATE_FIELDS, { error: `fromTemplate entries must be one of ${TEMPLATE_FIELDS.join(', ')}` }))
      .max(TEMPLATE_FIELDS.length)
      .refine((a) => new Set(a).size === a.length, 'fromTemplate lists a field twice')
      .optional(),
  })
  .superRefine((it, ctx) => {
    if ((it.orderType === 'LMT' || it.orderType === 'BRACKET') && it.entryPrice === undefined) {
      ctx.addIssue({ code: 'custom', path: ['entryPrice'], message: `${it.orderType} orders need entryPrice` });
    }
    const ref = it.entryPrice;
    if (ref !== undefined) {
      const long = it.side === 'BUY';
      if (long ? !(it.stopLoss < ref) : !(it.stopLoss > ref)) {
        ctx.addIssue({ code: 'custom', path: ['stopLoss'], message: `stopLoss must be ${long ? 'below' : 'above'} entryPrice for a ${it.side}` });
      }
      if (long ? !(it.takeProfit > ref) : !(it.takeProfit < ref)) {
        ctx.addIssue({ code: 'custom', path: ['takeProfit'], message: `takeProfit must be ${long ? 'above' : 'below'} entryPrice for a ${it.side}` });
      }
    } else if (it.side === 'BUY' ? !(it.stopLoss < it.takeProfit) : !(it.stopLoss > it.takeProfit)) {
      ctx.addIssue({ code: 'custom', path: ['stopLoss'], message: `stopLoss must be on the losing side of takeProfit for a ${it.side}` });
    }
  });

export type IntentInput = z.infer<typeof intentSchema>;

export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

export type ParseResult = { ok: true; value: IntentInput } | { ok: false; issues: ValidationIssue[] };

/** Validate untrusted input; every problem is reported with its path. */
export function parseIntent(raw: unknown): ParseResult {
  const r = intentSchema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    issues: r.error.issues.map((i) => ({
      path: i.path.length ? i.path.join('.') : '(body)',
      message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
    })),
  };
}
