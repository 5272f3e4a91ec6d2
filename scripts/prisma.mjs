#!/usr/bin/env node
// Runs the Prisma CLI offline. Prisma 6.19 with the JavaScript engines never uses the native
// engine binaries, but the CLI still checks that they exist (and would try to download them
// from a host this machine cannot reach). Point both at a placeholder file that exists.
// See ../shared/reference/prisma-offline.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const placeholder = join(root, 'node_modules', '.cache', 'phoenix-prisma', 'engine-placeholder');
if (!existsSync(placeholder)) {
  mkdirSync(dirname(placeholder), { recursive: true });
  writeFileSync(placeholder, 'JS engines in use; this file is never executed\n');
}
const env = {
  ...process.env,
  PRISMA_QUERY_ENGINE_LIBRARY: placeholder,
  PRISMA_SCHEMA_ENGINE_BINARY: placeholder,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
  DATABASE_URL: process.env.DATABASE_URL ?? 'file:./data/phoenix.db',
};
// The SQLite driver cannot create the database's folder; the CLI then fails with an opaque
// "External error". Create it first.
const dbUrl = env.DATABASE_URL;
if (dbUrl.startsWith('file:')) {
  const file = dbUrl.slice('file:'.length).split('?')[0];
  mkdirSync(dirname(isAbsolute(file) ? file : join(root, file)), { recursive: true });
}
const cli = join(root, 'node_modules', 'prisma', 'build', 'index.js');
const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { stdio: 'inherit', env, cwd: root });
process.exit(result.status ?? 1);
