/**
 * The demo's own world (issue 16): `npm start -- --demo` runs Phoenix on the demo constitution
 * with its OWN database (data/demo/phoenix.db: its own intents, daily counters, kill flags,
 * simulated broker book and audit anchors), the simulated broker and the local sandbox chat, so
 * nothing a demo does can reach the real setup: not its database, not its Telegram chat, not
 * its TradingView route, dead-man's switch or anchor URL, not a real broker. `phoenix … --demo`
 * points the CLI at the same place.
 *
 * Everything else in `.env` and the environment (intake host/port/token, sandbox port, log
 * level, SIM_PROFILE/SIM_SEED, STORE_ADAPTER) applies to the demo as to the real service. An
 * empty value hides a `.env` entry (the loader treats empty as unset).
 */
export const DEMO_DATABASE_URL = 'file:./data/demo/phoenix.db';
export const DEMO_CONSTITUTION_PATH = 'config/constitution.demo.yaml';

/** What the demo service is started with; `phoenix demo` says it in its hints. */
export const DEMO_START = 'npm start -- --demo';

/** Variables the demo never takes from the real setup (set to empty: unset, whatever `.env` says). */
const NOT_FOR_THE_DEMO = [
  'IBKR_ALLOW_LIVE',
  'IB_HOST',
  'IB_PORT',
  'IB_CLIENT_ID',
  'IB_ACCOUNT',
  'TELEGRAM_BOT_TOKEN',
  'TELEGRAM_API_ROOT',
  'TELEGRAM_CHAT_ID',
  'TELEGRAM_APPROVERS',
  'TELEGRAM_ADMINS',
  'TELEGRAM_VIEWERS',
  'TELEGRAM_WEBHOOK_URL',
  'TELEGRAM_WEBHOOK_SECRET',
  'TELEGRAM_WEBHOOK_PORT',
  'TRADINGVIEW_PASSPHRASE',
  'TRADINGVIEW_MAPPING_PATH',
  'TRADINGVIEW_ALLOWED_IPS',
  'TRADINGVIEW_TRUSTED_PROXIES',
  'HEARTBEAT_PING_URL',
  'AUDIT_ANCHOR_FILE',
  'AUDIT_ANCHOR_URL',
] as const;

/** The environment of the demo service (and of `phoenix … --demo`), from the real one. */
export function demoEnv(source: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...source };
  for (const k of NOT_FOR_THE_DEMO) out[k] = '';
  out.DATABASE_URL = DEMO_DATABASE_URL;
  out.CONSTITUTION_PATH = DEMO_CONSTITUTION_PATH;
  out.BROKER = 'sim';
  out.TRADING_MODE = 'paper';
  return out;
}

/** `--demo` among the arguments: the flag and the rest. */
export function takeDemoFlag(args: readonly string[]): { demo: boolean; rest: string[] } {
  return { demo: args.includes('--demo'), rest: args.filter((a) => a !== '--demo') };
}
