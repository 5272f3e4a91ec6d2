/**
 * The TradingView alert message Phoenix understands (README "TradingView": the template to
 * paste). TradingView fills `{{…}}` placeholders at alert time; numbers arrive unquoted only
 * when the template leaves them unquoted, so numeric strings are accepted too. A placeholder
 * that was not filled (an alert not made from a strategy) is a clear error, not a zero.
 * Unknown fields are refused so a typo never passes silently.
 */
import { z } from 'zod';

const NUMERIC = /^\s*-?\d+(\.\d+)?\s*$/;

/** "" (an empty placeholder such as a missing alert_message) means "not given". */
const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const placeholderLeft = (v: unknown) => typeof v === 'string' && v.includes('{{');
const placeholderMessage = (what: string) => `${what} still holds a TradingView placeholder: the alert was not created from a strategy, or the placeholder is misspelled`;

const numberSchema = (what: string) =>
  z
    .number({ error: (iss) => (iss.input === undefined ? `${what} is required` : placeholderLeft(iss.input) ? placeholderMessage(what) : `${what} must be a number`) })
    .refine((n) => Number.isFinite(n) && Math.abs(n) < 1e9, `${what} must be a finite number`);
const toNumber = (v: unknown) => {
  const b = blankToUndefined(v);
  return typeof b === 'string' && NUMERIC.test(b) ? Number(b) : b;
};
/** a number, or a numeric string (a quoted placeholder); "" counts as not given */
const num = (what: string) => z.preprocess(toNumber, numberSchema(what));
const optNum = (what: string) => z.preprocess(toNumber, numberSchema(what).optional());
const positive = (what: string) => num(what).refine((n) => n > 0, `${what} must be greater than 0`);
const optPositive = (what: string) => optNum(what).refine((n) => n === undefined || n > 0, `${what} must be greater than 0`);

const stringSchema = (what: string, max: number) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? `${what} is required` : `${what} must be a string`) })
    .max(max, `${what} is longer than ${max} characters`)
    .refine((s) => !s.includes('{{'), placeholderMessage(what));
const text = (what: string, max: number) => z.preprocess(blankToUndefined, stringSchema(what, max));
const optText = (what: string, max: number) => z.preprocess(blankToUndefined, stringSchema(what, max).optional());

const optUnit = (what: string) => optNum(what).refine((n) => n === undefined || (n >= 0 && n <= 1), `${what} must be between 0 and 1`);

/** Evidence the trader's template may carry (anything missing comes from the mapping file). */
const alertEvidence = z.strictObject({
  setupScore: optUnit('evidence.setupScore'),
  breakdown: z.record(z.string().max(40), optUnit('evidence.breakdown value').pipe(z.number({ error: 'evidence.breakdown values must be numbers' }))).refine((r) => Object.keys(r).length <= 20, 'evidence.breakdown has more than 20 entries').optional(),
  alignment: optText('evidence.alignment', 300),
  redChecks: z.array(z.strictObject({ name: z.string().trim().min(1).max(120), passed: z.boolean({ error: 'redChecks[].passed must be true or false' }) })).max(20).optional(),
  dvs: optUnit('evidence.dvs'),
  eqs: optUnit('evidence.eqs'),
});

export const alertSchema = z
  .strictObject({
    /** {{ticker}}: MES1!, NQ1!, MESZ2026, CME_MINI:MES1!, AAPL */
    ticker: text('ticker', 40),
    /** {{strategy.order.action}}: buy | sell */
    action: text('action', 40).pipe(z.string().transform((s) => s.trim().toLowerCase()).pipe(z.enum(['buy', 'sell'], { error: 'action must be buy or sell ({{strategy.order.action}})' }))),
    /** {{timenow}}: when the alert fired (ISO-8601); the state time and part of the idempotency key */
    time: text('time', 40).pipe(z.iso.datetime({ offset: true, error: 'time must be an ISO-8601 date-time like 2026-11-24T15:00:00Z ({{timenow}})' })),
    /** {{close}} (or {{strategy.order.price}}): the entry price */
    price: positive('price'),
    /** {{strategy.order.contracts}} */
    contracts: optPositive('contracts'),
    /** {{strategy.position_size}}: with contracts, sizes a reversal's entry part */
    positionSize: optNum('positionSize'),
    /** {{strategy.market_position}}: long | short | flat (an exit when it does not match the action) */
    marketPosition: optText('marketPosition', 40).pipe(z.string().transform((s) => s.trim().toLowerCase()).pipe(z.enum(['long', 'short', 'flat'], { error: 'marketPosition must be long, short or flat ({{strategy.market_position}})' })).optional()),
    strategy: optText('strategy', 64),
    /** absolute stop / target prices, or distances from the entry in ticks or points */
    stop: optPositive('stop'),
    target: optPositive('target'),
    stopTicks: optPositive('stopTicks'),
    targetTicks: optPositive('targetTicks'),
    stopPoints: optPositive('stopPoints'),
    targetPoints: optPositive('targetPoints'),
    evidence: alertEvidence.optional(),
    /** informational: {{exchange}}, {{interval}}, {{strategy.order.id}} */
    exchange: optText('exchange', 40),
    interval: optText('interval', 20),
    orderId: optText('orderId', 100),
    /** {{strategy.order.alert_message}}: shown as the alignment when the evidence has none */
    comment: z.preprocess((v) => (placeholderLeft(v) ? undefined : v), optText('comment', 300)),
  })
  .superRefine((a, ctx) => {
    for (const leg of ['stop', 'target'] as const) {
      const given = [leg, `${leg}Ticks`, `${leg}Points`].filter((k) => a[k as keyof typeof a] !== undefined);
      if (given.length > 1) ctx.addIssue({ code: 'custom', path: [given[1]!], message: `give one of ${leg}, ${leg}Ticks, ${leg}Points (got ${given.join(' and ')})` });
    }
  });

export type TradingViewAlert = z.infer<typeof alertSchema>;
