/**
 * The start-up banner `npm start` prints (no secrets). It says plainly what runs where, and
 * when the broker is not connected, so nobody mistakes "Phoenix is running" for "orders go out".
 */
import type { AppConfig } from './config/load.js';
import type { BrokerHealth } from './engine/broker.port.js';

export interface BannerInputs {
  readonly config: AppConfig;
  readonly intakeUrl: string;
  readonly broker: BrokerHealth & { readonly name: string };
  /** the Telegram/sandbox lines from launchTelegram */
  readonly telegram: readonly string[];
  /** the bot receives updates (false: Telegram not reachable yet, retrying) */
  readonly botReady: boolean;
}

export function brokerLines(config: AppConfig, b: BannerInputs['broker']): string[] {
  const e = config.env;
  const where = b.name === 'ibkr' ? ` at ${e.IB_HOST}:${e.IB_PORT}` : '';
  const account = b.account ? `, account ${b.account.accountId}` : '';
  if (b.state === 'READY') return [`  broker:  ${b.name}${where} READY${account}${b.name === 'sim' ? ' (simulated: no real orders)' : ''}`];
  const lines = [
    `  broker:  DOWN: ${b.name}${where} is ${b.state}${b.detail ? ` (${b.detail})` : ''}`,
    '           entries wait until it connects; /healthz says "degraded" with the reason',
  ];
  if (b.name === 'ibkr') lines.push(`           is IB Gateway (or TWS) running and logged in, with the API on port ${e.IB_PORT}? npx phoenix doctor checks it`);
  return lines;
}

export function startupBanner(i: BannerInputs): string {
  const e = i.config.env;
  const lines = [
    '',
    `Phoenix is running (${e.TRADING_MODE.toUpperCase()} mode, ${e.BROKER} broker${i.config.constitution.demo ? ', DEMO constitution' : ''}).`,
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
