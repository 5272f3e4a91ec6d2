/**
 * One trading day's plan, from the seed and the day's index alone (never from what happened
 * earlier, so any day can be regenerated and a history shrunk): the market, the strategies'
 * intents, the people's reactions and business, and the chaos, between 09:00 and 16:30 ET, with
 * waypoints at the open (09:30: daily reset and the previous day's summary) and the flatten
 * deadline (15:55). On a half-day the strategies stop at 12:45.
 */
import type { Act, DayPlan } from '../actions.js';
import { nyTime, type SimCalendar } from '../calendar.js';
import { PRODUCTS, type DeskVariant, type Product } from '../desk.js';
import { brokerDay, killsDay, placementChaos, telegramDay } from './chaos.js';
import { pricePath, priceAt, type PricePath } from './market.js';
import { deskBusiness, PlanBuilder, reactToCard } from './people.js';
import { dice, subSeed } from './rng.js';
import { intentBody, malform, pickKind, type Posted } from './strategy.js';

export interface DaySpec {
  readonly seed: number;
  readonly index: number;
  readonly day: string;
  readonly calendar: SimCalendar;
  readonly variant: DeskVariant;
  /** last prices of the previous day (the walk continues) */
  readonly open: Readonly<Record<string, number>>;
}

export interface GeneratedDay extends DayPlan {
  /** closing prices (tomorrow's open) */
  readonly close: Record<string, number>;
}

export function generateDay(s: DaySpec): GeneratedDay {
  const d = dice(subSeed(s.seed, s.index, 'day'));
  const plan = new PlanBuilder();
  const t = (hhmm: string, sec = 0) => nyTime(s.day, hhmm, sec);
  const half = s.calendar.halfDays.has(s.day);
  const open = t('09:35');
  const lastSignal = half ? t('12:45') : t('15:50');
  const deadline = t('15:55');
  const maxRisk = s.variant === 'busy' ? 25 : 15;

  // the strategies' signal times: a few bursts through the session (some inside no-trade windows)
  // (a burst mostly trades one product, in whatever spellings: the per-contract limits get tested;
  // some days a burst comes late, so positions are open at the 15:55 deadline)
  const products = PRODUCTS.filter(() => d.chance(0.6));
  const traded: Product[] = products.length ? products : [PRODUCTS[0] as Product];
  const signals: { at: number; product: Product }[] = [];
  const bursts = d.int(2, 5);
  const late = !half && d.chance(0.35);
  for (let b = bursts; b > 0; b--) {
    const start = late && b === 1 ? d.between(t('15:15'), t('15:45')) : d.between(open - 5 * 60_000, lastSignal);
    const main = d.pick(traded);
    for (let n = d.int(1, 5); n > 0; n--) signals.push({ at: Math.min(lastSignal + 4 * 60_000, start + d.int(0, 600) * 1000), product: d.chance(0.75) ? main : d.pick(traded) });
  }
  signals.sort((a, b) => a.at - b.at);
  const times = signals.map((x) => x.at);

  // the market: moves after each signal (so brackets resolve) and a few on their own
  const moves = new Map<string, number[]>(traded.map((p) => [p.symbol, [t('09:30')]]));
  const symbolOf = signals.map((x) => x.product);
  times.forEach((at, i) => {
    const list = moves.get(symbolOf[i]!.symbol)!;
    for (let k = d.int(1, 3); k > 0; k--) list.push(at + d.int(3, 900) * 1000);
  });
  const paths = new Map<string, PricePath>();
  for (const p of traded) {
    const list = moves.get(p.symbol)!;
    for (let k = d.int(0, 2); k > 0; k--) list.push(d.between(t('09:30'), t('16:00')));
    paths.set(p.symbol, pricePath(d, p, s.open[p.symbol] ?? p.base, list));
  }
  for (const path of paths.values()) for (const pt of path.points.slice(1)) plan.add(pt.t, { k: 'price', symbol: path.symbol, price: pt.price });
  for (const p of traded) plan.add(t('09:30') + 1000, { k: 'price', symbol: p.symbol, price: paths.get(p.symbol)!.points[0]!.price });

  // the strategies and the people who answer their cards
  const posted: Posted[] = [];
  times.forEach((at, i) => {
    const p = symbolOf[i]!;
    const kind = pickKind(d);
    const fresh = `sim-${s.day}-${i}-${d.id(4)}`;
    const signalId = kind === 'dup' && posted.length ? d.pick(posted).signalId : fresh;
    const { body, posted: shape } = intentBody(d, signalId, kind === 'dup' ? 'good' : kind, p, priceAt(paths.get(p.symbol)!, at), at, maxRisk, s.day);
    const wire = kind === 'malformed' ? malform(d, body) : body;
    const cardable = kind === 'good' || kind === 'offtick' || kind === 'qty' || kind === 'risk';
    const item: Posted = { t: at, signalId, kind, cardable, ...shape };
    plan.add(at, { k: 'intent', body: wire, note: `${kind} ${p.symbol} ${shape.side}` } satisfies Act);
    if (item.cardable) reactToCard(d, plan, item, posted, placementChaos(d, plan, item));
    posted.push(item);
  });

  deskBusiness(d, plan, t('09:31'), t('16:10'), deadline);
  brokerDay(d, plan, t('09:30'), t('15:50'), traded.map((p) => p.symbol));
  telegramDay(d, plan, t('09:00'), t('16:20'));
  killsDay(d, plan, t('09:05'), t('16:20'), deadline);
  plan.add(t('09:30'), { k: 'wait' });
  plan.add(deadline, { k: 'wait' });
  plan.add(t('16:30'), { k: 'wait' });

  const end = t('16:30');
  const actions = plan.actions.filter((a) => a.t >= t('09:00') && a.t <= end).sort((a, b) => a.t - b.t);
  const close: Record<string, number> = { ...s.open };
  for (const [sym, path] of paths) close[sym] = path.points[path.points.length - 1]!.price;
  return { day: s.day, index: s.index, actions, close };
}
