/**
 * Every table behind the Store port (issue 15): no SQL and no database driver outside
 * src/store. The CLI reads through src/store/inspect.ts, the alert sender through
 * tx.alertOutbox; nothing else opens a connection or spells a statement.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** a statement in a string, a driver call, or a driver import */
const SQL = [
  /['"`]\s*(SELECT\s[\s\S]{0,200}?\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+"?\w+"?\s+SET|DELETE\s+FROM|PRAGMA|CREATE\s+(TABLE|INDEX)|ALTER\s+TABLE)\b/i,
  /\.\$(queryRaw|executeRaw)(Unsafe)?\b/,
  /\.(prepare|pragma)\(\s*['"`]/,
  /from\s+['"](better-sqlite3|pg|@prisma\/client|@prisma\/adapter-[\w-]+)['"]/,
  /from\s+['"][./]*store\/generated(-pg)?\//,
];

describe('no SQL outside src/store (issue 15)', () => {
  it('no file in src outside src/store runs or spells SQL or imports a database driver', () => {
    const offenders: string[] = [];
    for (const f of sources(join(ROOT, 'src'))) {
      const rel = relative(ROOT, f);
      if (rel.startsWith('src/store/')) continue;
      const text = readFileSync(f, 'utf8');
      for (const re of SQL) {
        const m = re.exec(text);
        if (m) offenders.push(`${rel}: ${m[0].slice(0, 60)}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the pattern does catch what it is for (a statement, a raw Prisma call, a driver import)', () => {
    for (const sample of ["db.prepare('SELECT value FROM \"SystemState\" WHERE key = ?')", 'await c.$queryRawUnsafe(sql)', "import Database from 'better-sqlite3';", 'run(`UPDATE "Alert" SET status = ?`)']) {
      expect(SQL.some((re) => re.test(sample)), sample).toBe(true);
    }
  });
});
