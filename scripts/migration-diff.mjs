#!/usr/bin/env node
// Prints the SQL for a new migration: the committed schema (git HEAD) → the working schema.
// (Diffing from prisma/migrations needs a shadow database, which the JavaScript schema engine
// cannot replay our trigger migration into.) Save the output as
// prisma/migrations/<timestamp>_<name>/migration.sql.
//   --postgres   the same for PostgreSQL (run `npm run db:generate` first so
//                prisma/postgres/schema.prisma is derived): save it as
//                prisma/postgres/migrations/<timestamp>_<name>/migration.sql.
// test/store/pg-schema.test.ts fails until both folders build what the schema says.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const schema = process.argv.includes('--postgres') ? 'prisma/postgres/schema.prisma' : 'prisma/schema.prisma';
const old = join(mkdtempSync(join(tmpdir(), 'phoenix-schema-')), 'schema.prisma');
writeFileSync(old, execFileSync('git', ['show', `HEAD:${schema}`]));
const r = spawnSync(process.execPath, ['scripts/prisma.mjs', 'migrate', 'diff', '--from-schema-datamodel', old, '--to-schema-datamodel', schema, '--script'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
