/**
 * The rules BETWEEN environment variables (SPEC 2, SPEC 7, SPEC 12), each with its fix. They
 * run on whatever variables did validate, so one bad value does not hide a live-mode problem
 * until the next start: everything is reported in one round. A rule that needs a variable
 * whose own value is invalid stays quiet (that variable's own problem is already listed).
 */
import type { Env, EnvKey } from './env.schema.js';

export interface EnvRuleProblem {
  readonly key: EnvKey;
  readonly problem: string;
  readonly fix: string;
}

/** The variables as far as they validated: an invalid one is absent (undefined). */
export type EnvView = Partial<Env>;

const PAPER = /^DU\d+$/;

export function envRuleProblems(e: EnvView, given: (k: EnvKey) => boolean): EnvRuleProblem[] {
  const out: EnvRuleProblem[] = [];
  const need = (key: EnvKey, problem: string, fix: string) => out.push({ key, problem, fix });
  const mode = e.TRADING_MODE;
  const broker = e.BROKER;
  const account = e.IB_ACCOUNT;

  // --- money: live is switched on deliberately, and the account matches the mode
  if (mode === 'live' && e.IBKR_ALLOW_LIVE === false) need('IBKR_ALLOW_LIVE', 'TRADING_MODE=live needs IBKR_ALLOW_LIVE=true', 'for real money set IBKR_ALLOW_LIVE=true deliberately (with IB_ACCOUNT=U…); otherwise use TRADING_MODE=paper');
  if (mode === 'live' && broker === 'sim') need('BROKER', 'TRADING_MODE=live needs BROKER=ibkr (the simulator has no real money)', 'set BROKER=ibkr with IB_HOST, IB_PORT and IB_ACCOUNT=U…, or use TRADING_MODE=paper with the simulator');
  if (!given('IB_ACCOUNT')) {
    if (mode === 'live') need('IB_ACCOUNT', 'TRADING_MODE=live needs IB_ACCOUNT=U… (your live account id)', 'set IB_ACCOUNT=U… to the live account Phoenix may trade (IB Gateway shows it; phoenix doctor lists the managed accounts)');
    else if (broker === 'ibkr') {
      const which = mode === 'paper' ? 'DU… (your paper account id)' : 'your account id (DU… paper, U… live)';
      need('IB_ACCOUNT', 'BROKER=ibkr needs IB_ACCOUNT: the one account Phoenix trades and reconciles', `set IB_ACCOUNT=${which}; IB Gateway shows it, and phoenix doctor lists the accounts of the login`);
    }
  }
  if (account && mode === 'paper' && !PAPER.test(account)) need('IB_ACCOUNT', `${account} is a live account but TRADING_MODE=paper; use your DU… paper account`, 'set IB_ACCOUNT to the account that matches TRADING_MODE: DU… for paper, U… for live');
  if (account && mode === 'live' && PAPER.test(account)) need('IB_ACCOUNT', `${account} is a paper account but TRADING_MODE=live`, 'set IB_ACCOUNT=U… (your live account) for real money, or use TRADING_MODE=paper with this paper account');

  // --- Telegram: a real bot needs somewhere to post and someone who may approve
  if (given('TELEGRAM_BOT_TOKEN')) {
    if (!given('TELEGRAM_CHAT_ID')) need('TELEGRAM_CHAT_ID', 'needed with TELEGRAM_BOT_TOKEN: the chat that receives cards and alerts', 'send /start to the bot (or add it to your group), then run npx phoenix doctor: it shows the chat id to put in TELEGRAM_CHAT_ID');
    if (e.TELEGRAM_APPROVERS?.length === 0) need('TELEGRAM_APPROVERS', 'needed with TELEGRAM_BOT_TOKEN: comma-separated Telegram user ids allowed to approve', 'TELEGRAM_APPROVERS=<numeric Telegram user id> (ask @userinfobot for yours); comma-separate several');
  }
  // INV-SANDBOX-PAPER-1: without a bot token `npm start` runs the local sandbox chat, where
  // anyone at this machine can tap APPROVE as any user; it never releases orders to IBKR or real money.
  if (!given('TELEGRAM_BOT_TOKEN') && (broker === 'ibkr' || mode === 'live')) {
    const what = [broker === 'ibkr' ? 'BROKER=ibkr' : '', mode === 'live' ? 'TRADING_MODE=live' : ''].filter(Boolean).join(' and ');
    need('TELEGRAM_BOT_TOKEN', `not set, so Phoenix would approve orders in the local sandbox chat, which runs only with BROKER=sim in paper or observe mode (you set ${what})`, 'set TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID and TELEGRAM_APPROVERS for real Telegram, or use BROKER=sim TRADING_MODE=paper to try the sandbox');
  }
  if (given('TELEGRAM_WEBHOOK_URL')) {
    if (!given('TELEGRAM_WEBHOOK_SECRET')) need('TELEGRAM_WEBHOOK_SECRET', 'needed with TELEGRAM_WEBHOOK_URL: Telegram sends it with every update so strangers cannot post fake taps', 'generate one: TELEGRAM_WEBHOOK_SECRET=$(openssl rand -hex 24)');
    if (!given('TELEGRAM_BOT_TOKEN')) need('TELEGRAM_BOT_TOKEN', 'webhook mode (TELEGRAM_WEBHOOK_URL) needs a real bot token', 'set TELEGRAM_BOT_TOKEN from @BotFather, or unset TELEGRAM_WEBHOOK_URL');
  }

  // --- ports this process listens on must differ
  const listeners: [EnvKey, number | undefined, boolean][] = [
    ['INTAKE_PORT', e.INTAKE_PORT, true],
    ['SANDBOX_PORT', e.SANDBOX_PORT, !given('TELEGRAM_BOT_TOKEN')],
    ['TELEGRAM_WEBHOOK_PORT', e.TELEGRAM_WEBHOOK_PORT, given('TELEGRAM_WEBHOOK_URL') && given('TELEGRAM_BOT_TOKEN')],
  ];
  const used = listeners.filter(([, p, on]) => on && p !== undefined);
  for (let i = 1; i < used.length; i++) {
    const [key, p] = used[i]!;
    const clash = used.slice(0, i).find(([, q]) => q === p);
    if (clash) need(key, `is ${p}, the same port as ${clash[0]}: Phoenix listens on both`, `give ${key} another free port, e.g. ${key}=${p! + 1}`);
  }
  return out;
}
