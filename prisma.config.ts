import path from 'node:path';
import type { PrismaConfig } from 'prisma';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';

// JavaScript engines only (no native binaries can be downloaded here): migrations run on the
// WebAssembly schema engine through the better-sqlite3 driver adapter.
export default {
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  async adapter() {
    return new PrismaBetterSQLite3({ url: process.env.DATABASE_URL ?? 'file:./data/phoenix.db' });
  },
} satisfies PrismaConfig;
