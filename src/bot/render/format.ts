/**
 * Small, pure formatters of the bot's messages that are about Telegram's look (prices, scores,
 * the mode banner, contract months). Times, money and durations come from THE formatter for
 * people, src/engine/people-time.ts, shared with the alerts and the CLI.
 */
import type { Mode } from '../../engine/index.js';
import { b, type Inline } from '../html.js';

/** A price: at least 2 decimals, more only when the number has them (max 6). */
export function px(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a';
  const two = n.toFixed(2);
  if (Math.abs(Number(two) - n) < 1e-9) return two;
  return String(Number(n.toFixed(6)));
}

export const score = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

/** PAPER / LIVE must be unmistakable on every card; DEMO when the demo constitution runs. */
export function modeBanner(mode: Mode, demo: boolean): Inline[] {
  const m: Inline[] =
    mode === 'live' ? ['🔴 ', b('LIVE — REAL MONEY')] : mode === 'paper' ? ['📄 ', b('PAPER'), ' (IBKR paper account)'] : ['👁 ', b('OBSERVE'), ' — no orders are sent'];
  return demo ? [...m, ' · 🧪 ', b('DEMO')] : m;
}

/** The mode as one word for a card's decision line (LIVE stays loud). */
export function modeWord(mode: Mode, demo: boolean): Inline[] {
  const m: Inline[] = mode === 'live' ? ['🔴 ', b('LIVE — REAL MONEY')] : mode === 'paper' ? [b('PAPER')] : [b('OBSERVE'), ' (nothing is sent)'];
  return demo ? [...m, ' 🧪 ', b('DEMO')] : m;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A futures contract month as traders say it: "202612" → "Dec26" (anything else unchanged). */
export function contractMonthLabel(contractMonth: string): string {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(contractMonth.trim());
  const month = m ? MONTHS[Number(m[3]) - 1] : undefined;
  return m && month ? `${month}${m[2]}` : contractMonth.trim();
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
