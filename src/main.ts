/**
 * `npm start`: load and validate configuration (fail closed), then run the service.
 * `npm start -- --demo`: the same on the demo constitution and its own data directory.
 */
import { startupBanner } from './banner.js';
import { SECRET_ENV } from './config/env.schema.js';
import { ConfigError, loadConfig } from './config/load.js';
import { demoEnv, takeDemoFlag } from './demo/data-dir.js';
import { createLogger } from './runtime/logger.js';
import { cryptoRandom, systemClock } from './runtime/system-clock.js';
import { postgresPassword } from './store/db-path.js';
import { startFrontEnds, startService, type FrontEnds } from './service.js';

async function main(): Promise<void> {
  // `npm start -- --demo`: the demo constitution on its own data directory (src/demo/data-dir.ts)
  const { demo, rest } = takeDemoFlag(process.argv.slice(2));
  if (rest.length) {
    process.stderr.write(`unknown argument ${rest[0]}: npm start takes only --demo (the demo on its own database, data/demo/)\n`);
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig(demo ? demoEnv(process.env) : process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  // the secrets' values are also cut out of every log line (SAFE-6, INV-SECRET-1)
  // (and a PostgreSQL DATABASE_URL's password)
  const logger = createLogger(config.env.LOG_LEVEL, undefined, { secrets: [...SECRET_ENV.map((k) => config.env[k]), postgresPassword(config.env.DATABASE_URL)] });
  const service = await startService({
    config,
    clock: systemClock,
    random: cryptoRandom,
    logger,
    chatId: config.env.TELEGRAM_CHAT_ID ?? '-1001001',
    telegramLabel: config.env.TELEGRAM_BOT_TOKEN ? 'telegram' : 'sandbox',
    inspectDb: false, // no Prisma client unless STORE_ADAPTER=prisma (memory, start-up)
    demoData: demo,
  });
  // the bot and the alert sender run where the broker session is: here on SQLite; on PostgreSQL
  // in the leader process, now or once this follower takes over (src/service.desk.ts)
  let front: FrontEnds | null = null;
  let booted = false;
  const broker = service.app.broker;
  try {
    await service.whenLeader(async () => {
      const f = await startFrontEnds(service, { logger, clock: systemClock });
      front = f;
      if (booted) process.stdout.write(`Phoenix took over as the LEADER on PostgreSQL.\n${startupBanner({ config, intakeUrl: service.intake.url, broker: { ...broker.health(), name: broker.name }, telegram: f.telegram.banner, botReady: f.botReady, demoData: demo })}`);
    });
  } catch (e) {
    await service.stop();
    throw e;
  }
  booted = true;
  const started = front as FrontEnds | null;
  if (started) process.stdout.write(startupBanner({ config, intakeUrl: service.intake.url, broker: { ...broker.health(), name: broker.name }, telegram: started.telegram.banner, botReady: started.botReady, demoData: demo }));
  else process.stdout.write(`Phoenix is running as a FOLLOWER on PostgreSQL: intake ${service.intake.url}; the leader process holds the broker session, the bot and the alerts; this one takes over if the leader goes.\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // a second Ctrl+C / SIGTERM while winding down: leave now (every state change is one
      // transaction, so a cut shutdown loses nothing; the crash drill proves restarts)
      logger.warn({ signal }, 'second stop signal: exiting without waiting for the shutdown');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    // a shutdown step that hangs (a socket that never closes) must not keep Phoenix half-alive
    setTimeout(() => {
      logger.error({ signal, afterMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time: exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    service.readiness.stopAll(); // /healthz 503 while we wind down
    await (front as FrontEnds | null)?.stop();
    await service.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** How long a stop may take before the process leaves anyway (Ctrl+C never hangs). */
const SHUTDOWN_DEADLINE_MS = 15_000;

main().catch((e: Error) => {
  process.stderr.write(`Phoenix failed to start: ${e.message}\n`);
  process.exit(1);
});
