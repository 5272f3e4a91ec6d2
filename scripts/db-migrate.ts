/**
 * `npm run db:migrate`: apply pending migrations to DATABASE_URL (the environment, then .env;
 * default file:./data/phoenix.db) with the migrators `npm start` runs — SQLite's
 * (src/store/migrate.ts) or PostgreSQL's (src/store/pg.migrate.ts, under an advisory lock, so
 * it is safe while desk processes start). Prisma's own `migrate deploy` needs its schema engine,
 * which this offline install does not have for PostgreSQL; both write Prisma's
 * `_prisma_migrations` table, so Prisma's tools still read the state.
 */
import { envSchemaFields } from '../src/config/env.schema.js';
import { mergedEnv } from '../src/config/load.js';
import { isPostgresUrl, redactPostgresUrl, sqlitePath } from '../src/store/db-path.js';

const parsed = envSchemaFields.DATABASE_URL.safeParse(mergedEnv(process.env, process.cwd()).DATABASE_URL);
if (!parsed.success) {
  process.stderr.write(`DATABASE_URL ${parsed.error.issues[0]?.message ?? 'is not valid'}\n`);
  process.exit(2);
}
const url = parsed.data;
try {
  if (isPostgresUrl(url)) {
    const { migratePostgres } = await import('../src/store/pg.migrate.js');
    const r = await migratePostgres(url);
    process.stdout.write(`${redactPostgresUrl(url)}: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'up to date'}\n`);
  } else {
    const { migrate } = await import('../src/store/migrate.js');
    const file = sqlitePath(url);
    const r = migrate(file);
    process.stdout.write(`${file}: ${r.applied.length ? `applied ${r.applied.join(', ')}` : 'up to date'}\n`);
  }
} catch (e) {
  process.stderr.write(`migration failed: ${(e as Error).message}\n`);
  process.exit(1);
}
