/**
 * THE command table (SPEC 12; style.md lesson 7). One row per command drives the handler
 * registration, the role check, /help and setMyCommands. A handler parses its arguments,
 * calls one engine use case (reads may look first), and renders the result.
 */
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Lane } from '../alerts/chat-budget.js';
import { clockTime, dateClockTime, pointText, shortHash, type Actor } from '../engine/index.js';
import { confirmRequestText } from '../present/confirm.text.js';
import { killText } from '../present/kill.text.js';
import { stalledResolveText } from '../present/stalled.text.js';
import { rankAtLeast, type Rank } from './access.js';
import { parseDemoteArgs, parseStrategyArg } from './args.js';
import type { BotContext, BotServices } from './context.js';
import { b, blank, clean, code, i, line, renderFitted, type Line } from './html.js';
import { renderDrift } from './render/drift.js';
import { renderDriftList, renderOrders, renderPending, renderPositions, renderStatus } from './render/lists.js';
import { modeBanner } from './render/format.js';
import { renderPromotionRefusal, renderStrategies } from './render/promotion.js';
import { listRunbooks, renderRunbook, renderRunbookList } from './runbooks.js';
import { promotionRequestText } from '../present/promotion.text.js';
import { strategyText } from '../present/strategy.text.js';

export interface CommandEnv {
  readonly ctx: BotContext;
  /** text after the command, trimmed */
  readonly args: string;
  readonly actor: Actor;
  readonly rank: Rank;
  readonly s: BotServices;
  /** queue an HTML reply in the row's lane (resolves at once: handlers never wait for Telegram) */
  reply(html: string, keyboard?: InlineKeyboardMarkup): Promise<void>;
}

export interface CommandRow {
  /** without the slash; [a-z0-9_]{1,32} */
  readonly command: string;
  readonly args?: string;
  /** one line, for setMyCommands (≤ 256 characters) and /help */
  readonly description: string;
  /** least role that may run it ('viewer' = any configured user) */
  readonly minRank: Rank;
  /** false: the row keeps its place but is not registered, listed or announced yet */
  readonly enabled: boolean;
  /** exempt from the per-user command rate limit (the emergency fast path) */
  readonly unlimited?: boolean;
  /** the chat budget's lane for its replies (default 'rest'; /halt's confirmation is 'urgent') */
  readonly lane?: Lane;
  run(env: CommandEnv): Promise<void>;
}

const say = (env: CommandEnv, ...lines: Line[]) => env.reply(renderFitted(lines));
/** the constitution's time zone: every time a reply shows is in it */
const tzOf = (env: CommandEnv): string => env.s.engine.info.timeZone;

export const COMMANDS: readonly CommandRow[] = [
  {
    command: 'start',
    description: 'what Phoenix is and what you can do here',
    minRank: 'viewer',
    enabled: true,
    async run(env) {
      await env.reply(helpHtml(env, true));
    },
  },
  {
    command: 'help',
    description: 'the commands and the runbooks',
    minRank: 'viewer',
    enabled: true,
    async run(env) {
      await env.reply(helpHtml(env, false));
    },
  },
  {
    command: 'status',
    description: 'mode, broker, kill flag, P&L today, pending cards, heartbeat, reconciliation, outbox',
    minRank: 'viewer',
    enabled: true,
    async run(env) {
      await env.reply(renderStatus(await env.s.engine.status(), tzOf(env)));
    },
  },
  {
    command: 'positions',
    description: 'open positions (Phoenix view)',
    minRank: 'viewer',
    enabled: true,
    async run(env) {
      const engine = env.s.engine;
      await env.reply(renderPositions(await engine.listPositions(), engine.now(), tzOf(env)));
    },
  },
  {
    command: 'orders',
    description: 'working orders',
    minRank: 'viewer',
    enabled: true,
    async run(env) {
      await env.reply(renderOrders(await env.s.engine.listWorkingOrders()));
    },
  },
  {
    command: 'pending',
    description: 'cards waiting for APPROVE / PASS, the one expiring first on top, with links to them',
    minRank: 'viewer',
    enabled: true,
    async run(env) {
      const engine = env.s.engine;
      await env.reply(renderPending(await engine.cards.pending(), engine.now(), tzOf(env)));
    },
  },
  {
    command: 'drift',
    args: '[ID]',
    description: 'unresolved reconciliation drifts in words and "check now"; /drift ID shows one with its resolve buttons',
    minRank: 'viewer',
    enabled: true,
    async run(env) {
      const engine = env.s.engine;
      const id = env.args.trim();
      if (id) {
        if (!/^drf_[A-Za-z0-9]{1,40}$/.test(id)) return say(env, line('Usage: ', code('/drift drf_…'), ' (the id from /drift), or /drift for the list.'));
        const r = renderDrift(await engine.drift.get(id), engine.now(), tzOf(env), rankAtLeast(env.rank, 'approver'), id);
        return env.reply(r.html, r.keyboard);
      }
      const r = renderDriftList(await engine.drift.list(), engine.now(), tzOf(env));
      await env.reply(r.html, r.keyboard);
    },
  },
  {
    command: 'halt',
    args: '[reason]',
    description: 'stop all new entries NOW (one tap, no confirmation; exits still allowed)',
    minRank: 'approver',
    enabled: true,
    unlimited: true,
    lane: 'urgent',
    async run(env) {
      const reason = clean(env.args).slice(0, 200) || 'no reason given (Telegram /halt)';
      const r = await env.s.engine.halt(env.actor, reason);
      const text = clean(killText(r, tzOf(env)));
      await say(env, line(r.ok ? '🛑 ' : '', r.ok ? b(text) : text), ...(r.ok ? [line(i('An admin lifts it with /resume (one confirm tap). See /runbook RB-004.'))] : []));
    },
  },
  {
    command: 'resume',
    description: 'lift the kill flag, after one confirm tap',
    minRank: 'admin',
    enabled: true,
    async run(env) {
      const status = await env.s.engine.status();
      if (!status.kills.length) return say(env, line('No kill flag is active; nothing to resume.'));
      await confirmFlow(env, 'CONFIRM_RESUME');
    },
  },
  {
    command: 'flatten',
    description: 'close every open position at market, after one confirm tap',
    minRank: 'admin',
    enabled: true,
    async run(env) {
      await confirmFlow(env, 'CONFIRM_FLATTEN');
    },
  },
  {
    command: 'resolve',
    args: 'INTENT what-you-checked',
    description: 'close a STALLED entry the broker cannot answer for, after checking TWS yourself',
    minRank: 'admin',
    enabled: true,
    async run(env) {
      const m = /^(int_[A-Za-z0-9]{1,40})\s+(.{3,300})$/s.exec(env.args.trim());
      if (!m) return say(env, line('Usage: ', code('/resolve int_… what you checked at the broker'), ' — e.g. ', code('/resolve int_abc TWS Orders+Trades: nothing with this Order Ref'), '. Prefer the card\'s 🔎 button while the broker can answer.'));
      const r = await env.s.engine.resolveStalled(m[1]!, env.actor, m[2]!);
      await say(env, line(r.ok ? '☑️ ' : '', clean(stalledResolveText(r))));
    },
  },
  {
    command: 'audit',
    description: 'verify the audit chain',
    minRank: 'admin',
    enabled: true,
    async run(env) {
      const started = Date.now();
      const r = await env.s.engine.audit.verify();
      const took = `${Date.now() - started} ms`;
      // the head leaves the database in this reply too: an anchor a person can check later (SAFE-12)
      if (r.ok) return say(env, line('🔗 ', b('Audit chain OK'), `: ${r.count} beads verified in ${took}.`), ...(r.head ? [line(`Head #${r.head.seq} · ${shortHash(r.head.hash)} — anchor `, code(pointText(r.head)))] : []));
      const br = r.firstBreak;
      await say(
        env,
        line('🚨 ', b('AUDIT CHAIN BROKEN')),
        line(`First broken link: bead #${br?.seq ?? '?'} (${clean(br?.type ?? '?')}, `, code(clean(br?.id ?? '?')), ')'),
        line(clean(br?.problem ?? 'unknown problem')),
        line(i('Stop trading (/halt), keep the database file, and export it for review: npx phoenix audit verify.')),
      );
    },
  },
  {
    command: 'runbook',
    args: '[id]',
    description: 'list the runbooks, or show one (e.g. /runbook RB-004)',
    minRank: 'viewer',
    enabled: true,
    async run(env) {
      if (!env.args) return env.reply(renderRunbookList(await listRunbooks(env.s.runbooksDir)));
      const r = await renderRunbook(env.s.runbooksDir, env.args);
      if (!r.ok) return say(env, line(r.message));
      for (const html of r.messages) await env.reply(html);
    },
  },
  {
    command: 'strategies',
    description: 'strategies and their stage (SHADOW / LIVE) since when',
    minRank: 'viewer',
    enabled: true,
    async run(env) {
      await env.reply(renderStrategies(await env.s.engine.promotions.list(), tzOf(env)));
    },
  },
  {
    command: 'promote',
    args: 'STRATEGY',
    description: 'ask to promote a SHADOW strategy to LIVE: an evidence card, an approver decides',
    minRank: 'admin',
    enabled: true,
    async run(env) {
      const arg = parseStrategyArg('promote', env.args);
      if (!arg.ok) return say(env, line(clean(arg.message)));
      const r = await env.s.engine.promotions.request(arg.value, env.actor);
      env.s.kickSyncer();
      if (r.kind === 'denied') return say(env, line(clean(promotionRequestText(r, tzOf(env)))));
      if (r.kind === 'refused') {
        if (r.why === 'BAD_NAME') return say(env, line(clean(promotionRequestText(r, tzOf(env))))); // nothing to list: a usage problem
        return env.reply(renderPromotionRefusal(r.strategy, r.missing, r.bundle));
      }
      const chat = env.ctx.chat;
      if (chat && env.s.access.isMainChat(chat.id)) return; // the PROMOTION card itself is the answer
      await say(env, line('Promotion card for ', code(clean(r.strategy)), ` posted in the main chat; an approver must APPROVE it before ${clockTime(r.expiresAt, tzOf(env))}.`));
    },
  },
  {
    command: 'demote',
    args: 'STRATEGY',
    description: 'put a strategy back in SHADOW at once, no confirmation (a reason may follow on the next line)',
    minRank: 'admin',
    enabled: true,
    async run(env) {
      const arg = parseDemoteArgs(env.args);
      if (!arg.ok) return say(env, line(clean(arg.message)));
      const r = await env.s.engine.promotions.demote(arg.value.name, env.actor, arg.value.reason || `demoted from Telegram by ${env.actor.name}`);
      env.s.kickSyncer();
      const said = clean(strategyText(r));
      if (!r.ok) return say(env, line(said));
      await say(env, line(r.changed ? '🌘 ' : '', r.changed ? b(said) : said), line(i(`${clean(r.strategy.name)}: SHADOW${r.strategy.since !== null ? ` since ${dateClockTime(r.strategy.since, tzOf(env))}` : ''} — its intents are recorded, never carded or sent.`)));
    },
  },
];

export const enabledCommands = (table: readonly CommandRow[] = COMMANDS): CommandRow[] => table.filter((c) => c.enabled);

/** setMyCommands payload, from the table. */
export const botCommandList = (table: readonly CommandRow[] = COMMANDS) =>
  enabledCommands(table).map((c) => ({ command: c.command, description: `${c.description}${c.minRank === 'viewer' ? '' : ` [${c.minRank}]`}`.slice(0, 256) }));

const ROLE_LABEL: Record<Rank, string> = { viewer: 'everyone', approver: 'approvers and admins', admin: 'admins' };

function helpHtml(env: CommandEnv, intro: boolean): string {
  const { info } = env.s.engine;
  const lines: Line[] = [];
  if (intro) {
    lines.push(
      line('🦅 ', b('Phoenix'), ' — a human-in-the-loop guard for trading at Interactive Brokers.'),
      line('Trade intents pass the risk gates, then arrive as evidence cards with ', b('APPROVE'), ' / ', b('PASS'), '. Nothing reaches the broker without an approval.'),
      line(...modeBanner(info.mode, info.constitution.demo)),
      blank,
    );
  }
  lines.push(line(`You are ${clean(env.actor.name)} (`, b(env.rank), ').'), line(b('Commands')));
  for (const c of enabledCommands()) {
    const allowed = rankAtLeast(env.rank, c.minRank);
    lines.push(line(allowed ? '' : '🔒 ', `/${c.command}${c.args ? ` ${c.args}` : ''}`, ` — ${c.description} (${ROLE_LABEL[c.minRank]})`));
  }
  lines.push(blank, line('Runbooks: /runbook lists them; emergencies: ', code('/halt reason'), ' then /runbook RB-004.'), line(i(`Times are ${info.timeZone} time; now ${clockTime(env.s.engine.now(), info.timeZone)}.`)));
  return renderFitted(lines);
}

async function confirmFlow(env: CommandEnv, kind: 'CONFIRM_RESUME' | 'CONFIRM_FLATTEN'): Promise<void> {
  const r = await env.s.engine.requestConfirmation(kind, env.actor);
  env.s.kickSyncer();
  if (!r.ok) return say(env, line(clean(confirmRequestText(r))));
  const chat = env.ctx.chat;
  if (chat && env.s.access.isMainChat(chat.id)) return; // the confirmation card itself is the answer
  await say(env, line(`Confirmation card posted in the main chat; an admin must tap Confirm before ${clockTime(r.expiresAt, tzOf(env))}.`));
}
