/**
 * The start-up banner `npm start` prints (no secrets). It says plainly what runs where, and
 * when the broker is not connected, so nobody mistakes "Phoenix is running" for "orders go out".
 */
import type { AppConfig } from './config/load.js';
import { DEMO_DATABASE_URL } from './demo/data-dir.js';
import type { BrokerHealth } from './engine/index.js';

export interface BannerInputs {
  readonly config: AppConfig;
  readonly intakeUrl: string;
  readonly broker: BrokerHealth & { readonly name: string };
  /** the Telegram/sandbox lines from launchTelegram */
  readonly telegram: readonly string[];
  /** the bot receives updates (false: Telegram not reachable yet, retrying) */
  readonly botReady: boolean;
  /** started with --demo: the demo's own data directory */
  readonly demoData?: boolean;
}

/** The broker can take an entry now (connected and allowed to submit). */
const canSend = (b: BannerInputs['broker']) => b.state === 'READY' && b.canSubmit;

export function brokerLines(config: AppConfig, b: BannerInputs['broker']): string[] {
  const e = config.env;
  const where = b.name === 'ibkr' ? ` at ${e.IB_HOST}:${e.IB_PORT}` : '';
  const account = b.account ? `, account ${b.account.accountId}` : '';
  if (canSend(b)) return [`  broker:  ${b.name}${where} READY${account}${b.name === 'sim' ? ' (simulated: no real orders)' : ''}`];
  const expiry = Math.round(config.constitution.approval.tokenTtlSec / 60);
  const lines = [
    b.state === 'READY'
      ? `  broker:  CANNOT SUBMIT: ${b.name}${where} is connected but refuses entries${b.detail ? ` (${b.detail})` : ''}${account}`
      : `  broker:  DOWN: ${b.name}${where} is ${b.state}${b.detail ? ` (${b.detail})` : ''}`,
    '           NO ENTRY CAN BE SENT until the broker is back. Intents are still checked and carded, and',
    `           /halt works; an approved entry waits for the broker and lapses if it is not back within the`,
    `           approval's ${expiry} min. /healthz says "degraded" with the reason.`,
  ];
  if (b.name === 'ibkr') lines.push(`           is IB Gateway (or TWS) running and logged in, with the API on port ${e.IB_PORT}? npx phoenix doctor checks it; once fixed: npx phoenix reconnect`);
  return lines;
}

export function startupBanner(i: BannerInputs): string {
  const e = i.config.env;
  const what = `${e.TRADING_MODE.toUpperCase()} mode, ${e.BROKER} broker${i.config.constitution.demo ? ', DEMO constitution' : ''}`;
  // "running" must never read as "orders go out": with the broker down the first line says so
  const headline = canSend(i.broker)
    ? `Phoenix is running (${what}).`
    : `Phoenix is running (${what}), but the broker is ${i.broker.state === 'READY' ? 'refusing entries' : 'DOWN'}: no entry can be sent until it is back.`;
  const lines = [
    '',
    headline,
    ...(i.demoData ? [`  demo:    its own database ${DEMO_DATABASE_URL.slice('file:./'.length)}; your real data is untouched. Feed it signals: npx phoenix demo`] : []),
    `  intake:  ${i.intakeUrl}/v1/intents   health: ${i.intakeUrl}/healthz`,
    e.INTAKE_TOKEN ? '  intake requires Authorization: Bearer $INTAKE_TOKEN' : '  INTAKE_TOKEN not set: intake accepts requests from this machine only',
    ...(e.TRADINGVIEW_PASSPHRASE
      ? [`  tradingview: ${i.intakeUrl}/v1/tradingview (passphrase in the body${e.TRADINGVIEW_ALLOWED_IPS.length ? `; from ${e.TRADINGVIEW_ALLOWED_IPS.join(', ')} only` : ''}; TradingView needs it behind HTTPS on 443: README "TradingView")`]
      : []),
    ...brokerLines(i.config, i.broker),
    ...i.telegram,
    ...(i.botReady ? [] : ['  telegram: NOT CONNECTED yet, retrying (see the log); /healthz answers 503 until the bot receives updates']),
    '  stop:    Ctrl+C',
    '',
  ];
  return lines.join('\n') + '\n';
}
