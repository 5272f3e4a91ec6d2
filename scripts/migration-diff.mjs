#!/usr/bin/env node
// Prints the SQL for a new migration: the committed schema (git HEAD) → the working schema.
// (Diffing from prisma/migrations needs a shadow database, which the JavaScript schema engine
// cannot replay our trigger migration into.) Save the output as
// prisma/migrations/<timestamp>_<name>/migration.sql.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const old = join(mkdtempSync(join(tmpdir(), 'phoenix-schema-')), 'schema.prisma');
writeFileSync(old, execFileSync('git', ['show', 'HEAD:prisma/schema.prisma']));
const r = spawnSync(process.execPath, ['scripts/prisma.mjs', 'migrate', 'diff', '--from-schema-datamodel', old, '--to-schema-datamodel', 'prisma/schema.prisma', '--script'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
