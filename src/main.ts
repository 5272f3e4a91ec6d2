/**
 * `npm start`: load and validate configuration (fail closed), then run the service.
 */
import { SECRET_ENV } from './config/env.schema.js';
import { ConfigError, loadConfig } from './config/load.js';
import { createLogger } from './runtime/logger.js';
import { cryptoRandom, systemClock } from './runtime/system-clock.js';
import { AlertSender } from './alerts/index.js';
import { createGrammyAlertTransport } from './bot/alert.transport.js';
import { launchTelegram } from './bot/launch.js';
import { startService } from './service.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  // the secrets' values are also cut out of every log line (SAFE-6, INV-SECRET-1)
  const logger = createLogger(config.env.LOG_LEVEL, undefined, { secrets: SECRET_ENV.map((k) => config.env[k]) });
  const service = await startService({
    config,
    clock: systemClock,
    random: cryptoRandom,
    logger,
    chatId: config.env.TELEGRAM_CHAT_ID ?? '-1001001',
    telegramLabel: config.env.TELEGRAM_BOT_TOKEN ? 'telegram' : 'sandbox',
  });
  let telegram: Awaited<ReturnType<typeof launchTelegram>>;
  try {
    telegram = await launchTelegram({ config, engine: service.app.engine, logger });
  } catch (e) {
    await service.stop();
    throw e;
  }
  // Alerts (blocked notices, drift, stalls, connection, heartbeat …) leave the outbox here.
  const alerts = new AlertSender({
    store: service.app.store,
    clock: systemClock,
    logger: logger.child({ component: 'alerts' }),
    chatId: service.app.engine.ctx.chatId,
    transport: createGrammyAlertTransport(telegram.api),
    budget: telegram.phoenix.budget, // one budget per chat: cards, replies and alerts, by priority
  });
  await alerts.start();
  const lines = [
    '',
    `Phoenix is running (${config.env.TRADING_MODE.toUpperCase()} mode, ${config.env.BROKER} broker${config.constitution.demo ? ', DEMO constitution' : ''}).`,
    `  intake:  ${service.intake.url}/v1/intents   health: ${service.intake.url}/healthz`,
    config.env.INTAKE_TOKEN ? '  intake requires Authorization: Bearer $INTAKE_TOKEN' : '  INTAKE_TOKEN not set: intake accepts requests from this machine only',
    ...telegram.banner,
    '  stop:    Ctrl+C',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await alerts.stop();
    await telegram.stop();
    await service.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e: Error) => {
  process.stderr.write(`Phoenix failed to start: ${e.message}\n`);
  process.exit(1);
});
