/** Small, pure formatters shared by every message the bot renders. */
import type { Mode } from '../../engine/domain.js';
import { b, type Inline } from '../html.js';

export const usd = (cents: number): string => `${cents < 0 ? '-' : ''}$${(Math.abs(cents) / 100).toFixed(2)}`;
export const usdAmount = (dollars: number): string => usd(Math.round(dollars * 100));

/** A price: at least 2 decimals, more only when the number has them (max 6). */
export function px(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a';
  const two = n.toFixed(2);
  if (Math.abs(Number(two) - n) < 1e-9) return two;
  return String(Number(n.toFixed(6)));
}

export const score = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

/** 15:00:03 UTC */
export const utc = (ms: number | null | undefined): string => (ms === null || ms === undefined || !Number.isFinite(ms) ? '—' : `${new Date(ms).toISOString().slice(11, 19)} UTC`);

/** 2026-11-24 15:00 UTC */
export const utcDay = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** 45s, 4m 12s, 1h 03m, 2d 4h */
export function dur(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export const ago = (now: number, t: number | null | undefined): string => (t === null || t === undefined ? 'never' : `${dur(now - t)} ago`);

/** PAPER / LIVE must be unmistakable on every card; DEMO when the demo constitution runs. */
export function modeBanner(mode: Mode, demo: boolean): Inline[] {
  const m: Inline[] =
    mode === 'live' ? ['🔴 ', b('LIVE — REAL MONEY')] : mode === 'paper' ? ['📄 ', b('PAPER'), ' (IBKR paper account)'] : ['👁 ', b('OBSERVE'), ' — no orders are sent'];
  return demo ? [...m, ' · 🧪 ', b('DEMO')] : m;
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
