#!/usr/bin/env node
// One model, two databases (issue 18): prisma/schema.prisma is the source of truth (SQLite's);
// prisma/postgres/schema.prisma is DERIVED from it here, never edited by hand. Prisma takes one
// provider per schema file, hence two files. `npm run db:generate` rewrites it; a test fails
// when the committed copy differs (tests/store/pg-schema.test.ts), and another when the
// PostgreSQL migrations no longer build the database this schema describes.
//
//   node scripts/pg-schema.mjs           write prisma/postgres/schema.prisma
//   node scripts/pg-schema.mjs --check   exit 1 when the committed file is not the derived one
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SQLITE_SCHEMA = join(root, 'prisma', 'schema.prisma');
export const PG_SCHEMA = join(root, 'prisma', 'postgres', 'schema.prisma');

/** Each rule must match exactly once: a schema edit that breaks a rule fails loudly here. */
const RULES = [
  // where the two files differ, and nothing else
  [/^\/\/ Phoenix data model\. One SQLite file \(WAL\)\./m, '// GENERATED from prisma/schema.prisma by scripts/pg-schema.mjs (npm run db:generate): do not edit.\n// The same model on PostgreSQL (issue 18).'],
  [/^(\s*output\s*=\s*)"\.\.\/src\/store\/generated"$/m, '$1"../../src/store/generated-pg"'],
  [/^(\s*provider\s*=\s*)"sqlite"$/m, '$1"postgresql"'],
  // SQLite's implicit rowid, which the alert outbox reads alerts in insertion order by, made
  // explicit (src/store/outbox.sql.ts). Assigned under the desk's write lock, so its order is
  // the commit order (src/store/pg.store.ts).
  [/^(model Alert \{\n\s*id\s+String\s+@id\n)/m, '$1  /// SQLite\'s implicit rowid made explicit (insertion order = commit order: the store\'s write lock)\n  rowid     BigInt    @unique @default(autoincrement())\n'],
];

export function pgSchemaFrom(sqlite) {
  let out = sqlite;
  for (const [re, to] of RULES) {
    const n = (out.match(new RegExp(re.source, `${re.flags}g`)) ?? []).length;
    if (n !== 1) throw new Error(`scripts/pg-schema.mjs: rule ${re} matched ${n} times in prisma/schema.prisma (expected 1): update the rule with the schema`);
    out = out.replace(re, to);
  }
  return out;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const want = pgSchemaFrom(readFileSync(SQLITE_SCHEMA, 'utf8'));
  if (process.argv.includes('--check')) {
    const have = existsSync(PG_SCHEMA) ? readFileSync(PG_SCHEMA, 'utf8') : '';
    if (have !== want) {
      process.stderr.write('prisma/postgres/schema.prisma is not derived from prisma/schema.prisma: run npm run db:generate\n');
      process.exit(1);
    }
  } else {
    mkdirSync(dirname(PG_SCHEMA), { recursive: true });
    writeFileSync(PG_SCHEMA, want);
  }
}
