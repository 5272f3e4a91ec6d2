#!/usr/bin/env node
// `npm run db:generate` (also after `npm ci`): derive prisma/postgres/schema.prisma from
// prisma/schema.prisma (scripts/pg-schema.mjs), then generate both Prisma clients:
// src/store/generated (SQLite) and src/store/generated-pg (PostgreSQL). Both are gitignored.
import { spawnSync } from 'node:child_process';

const steps = [
  ['scripts/pg-schema.mjs'],
  ['scripts/prisma.mjs', 'generate'],
  ['scripts/prisma.mjs', 'generate', '--schema', 'prisma/postgres/schema.prisma'],
];
for (const args of steps) {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
