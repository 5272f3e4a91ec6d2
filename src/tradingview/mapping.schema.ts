/**
 * The TradingView mapping file (config/tradingview.yaml; TRADINGVIEW_MAPPING_PATH): how an
 * alert's ticker becomes an instrument, and the defaults for what an alert does not carry.
 * Validated at start-up (src/config/tradingview.load.ts reports every problem with its line).
 */
import { z } from 'zod';
import { evidenceSchema, instrumentSchema } from '../engine/index.js';

/** A default stop or target distance from the entry: in ticks, or in price points. */
const offset = (what: string) =>
  z.union(
    [
      z.strictObject({ ticks: z.number().int(`${what}.ticks must be a whole number`).positive(`${what}.ticks must be greater than 0`).max(10_000) }),
      z.strictObject({ points: z.number().positive(`${what}.points must be greater than 0`).max(1e6) }),
    ],
    { error: `${what} must be { ticks: N } or { points: N }` },
  );

export type Offset = z.infer<ReturnType<typeof offset>>;

const instrumentEntry = z
  .strictObject({
    /** the symbol Phoenix trades (default: the key) */
    symbol: z.string().regex(/^[A-Z0-9.\-/ ]{1,16}$/, 'symbol must be 1-16 upper-case letters/digits').optional(),
    secType: z.enum(['FUT', 'STK'], { error: 'secType must be FUT or STK' }),
    exchange: z.string().regex(/^[A-Z0-9_.]{1,16}$/, 'exchange must be upper case, like CME or SMART'),
    currency: z.string().regex(/^[A-Z]{3}$/, 'currency must be a 3-letter code like USD').default('USD'),
    multiplier: z.number().positive('multiplier must be greater than 0').max(100_000).optional(),
    tickSize: z.number().positive('tickSize must be greater than 0').max(1000),
    roll: z.strictObject({ rule: z.literal('cme-quarterly', { error: 'roll.rule must be cme-quarterly' }), daysBeforeExpiry: z.number().int().min(0).max(30).default(8) }).optional(),
    stop: offset('stop').optional(),
    target: offset('target').optional(),
    /** ignore the alert's contracts and always propose this many */
    fixedQuantity: z.number().int().positive().max(10_000).optional(),
  })
  .superRefine((ins, ctx) => {
    const need = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (ins.secType === 'FUT') {
      if (ins.multiplier === undefined) need('multiplier', 'futures need a multiplier (MES 5, MNQ 2)');
      if (!ins.roll) need('roll', 'futures need a roll rule: { rule: cme-quarterly, daysBeforeExpiry: 8 }');
    } else {
      if (ins.multiplier !== undefined && ins.multiplier !== 1) need('multiplier', 'stocks have multiplier 1');
      if (ins.roll) need('roll', 'stocks have no roll rule');
    }
  });

export type MappedInstrument = z.infer<typeof instrumentEntry>;

export const mappingSchema = z
  .strictObject({
    /** strategy name when the alert has no `strategy` field */
    strategy: z.string().trim().min(1).max(64).default('tradingview'),
    orderType: z.enum(['BRACKET', 'LMT'], { error: 'orderType must be BRACKET or LMT (an entry price is needed to bound the risk)' }).default('BRACKET'),
    /** how long the card stays open (default: the constitution's approval.defaultCardTtlSec) */
    ttlSec: z.number().int().min(30).max(3600).optional(),
    /** contracts/shares when the alert has no `contracts` */
    quantity: z.number().int().positive().max(10_000).default(1),
    stop: offset('stop'),
    target: offset('target'),
    /** evidence when the alert has none (the card marks each as "from template") */
    evidence: evidenceSchema,
    instruments: z.record(z.string().regex(/^[A-Z0-9]{1,16}$/, 'instrument keys are upper-case symbols like MES'), instrumentEntry).refine((r) => Object.keys(r).length > 0, 'list at least one instrument'),
    /** TradingView root symbol (before 1!, 2! or a month code) → a key of `instruments` */
    tickers: z.record(z.string().regex(/^[A-Z0-9]{1,16}$/, 'ticker keys are upper-case roots like MES or NQ'), z.string()),
  })
  .superRefine((m, ctx) => {
    for (const [ticker, target] of Object.entries(m.tickers)) {
      if (!Object.prototype.hasOwnProperty.call(m.instruments, target)) ctx.addIssue({ code: 'custom', path: ['tickers', ticker], message: `names instrument ${target}, which is not under instruments: (${Object.keys(m.instruments).join(', ')})` });
    }
    for (const [key, ins] of Object.entries(m.instruments)) {
      // the traded instrument must be one the intent wire format accepts
      const probe = instrumentSchema.safeParse({ symbol: ins.symbol ?? key, secType: ins.secType, exchange: ins.exchange, currency: ins.currency, ...(ins.secType === 'FUT' ? { contractMonth: '202612', multiplier: ins.multiplier ?? 1 } : {}) });
      if (!probe.success) for (const i of probe.error.issues) ctx.addIssue({ code: 'custom', path: ['instruments', key, ...i.path.map(String)], message: i.message });
    }
  });

export type TradingViewMapping = z.infer<typeof mappingSchema>;
