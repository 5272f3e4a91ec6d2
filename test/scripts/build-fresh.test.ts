/**
 * `npm start` runs compiled JavaScript (dist/, scripts/build.mjs) and must never run code
 * older than src/ (issue 17, Memory): scripts/start.mjs rebuilds whenever staleReason() says
 * dist/ does not match src/. These tests build a small throwaway tree (its own src/ and
 * dist/, not the repository's, which running services may be reading).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { build, staleReason } from '../../scripts/build.mjs';

let root = '';
const src = (f: string, text: string) => {
  mkdirSync(join(root, 'src', f, '..'), { recursive: true });
  writeFileSync(join(root, 'src', f), text);
};
const dist = (f: string) => readFileSync(join(root, 'dist', f), 'utf8');

describe('INV-BUILD-1: npm start never runs dist/ older than src/', () => {
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'phoenix-build-'));
    src('main.ts', "import { b } from './sub/b.js';\nexport const a: number = 1 + b;\n");
    src('sub/b.ts', 'export const b: number = 2;\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('INV-BUILD-1: never built → stale; after build → fresh, one .js per source at the same depth, types stripped, imports kept', async () => {
    expect(staleReason(root)).toBe('dist/ has not been built');
    const r = await build(root);
    expect(r.files).toBe(2);
    expect(staleReason(root)).toBeNull();
    expect(dist('main.js')).toContain("from \"./sub/b.js\"");
    expect(dist('main.js')).not.toContain(': number');
    expect(dist('sub/b.js')).toContain('const b = 2');
  });

  it('INV-BUILD-1: a changed source (even same size, any mtime) → stale, and the rebuild has the new code', async () => {
    await build(root);
    const before = statSync(join(root, 'src', 'sub', 'b.ts'));
    src('sub/b.ts', 'export const b: number = 3;\n'); // same size
    utimesSync(join(root, 'src', 'sub', 'b.ts'), before.atime, new Date(before.mtimeMs - 60_000)); // older mtime
    expect(staleReason(root)).toBe('src/ changed since dist/ was built');
    await build(root);
    expect(staleReason(root)).toBeNull();
    expect(dist('sub/b.js')).toContain('const b = 3');
  });

  it('INV-BUILD-1: touched but unchanged sources (a checkout) → still fresh: the bytes decide, no needless rebuild', async () => {
    await build(root);
    utimesSync(join(root, 'src', 'main.ts'), new Date(), new Date(Date.now() + 5_000));
    expect(staleReason(root)).toBeNull();
  });

  it('INV-BUILD-1: a new source → stale; a deleted source → stale and its output is removed by the rebuild', async () => {
    await build(root);
    src('extra.ts', 'export const x = 1;\n');
    expect(staleReason(root)).toBe('src/ changed since dist/ was built');
    await build(root);
    expect(existsSync(join(root, 'dist', 'extra.js'))).toBe(true);
    unlinkSync(join(root, 'src', 'extra.ts'));
    expect(staleReason(root)).toBe('src/ changed since dist/ was built');
    await build(root);
    expect(existsSync(join(root, 'dist', 'extra.js'))).toBe(false);
    expect(existsSync(join(root, 'dist', 'extra.js.map'))).toBe(false);
    expect(staleReason(root)).toBeNull();
  });

  it('INV-BUILD-1: a missing output (dist/ half deleted) → stale', async () => {
    await build(root);
    unlinkSync(join(root, 'dist', 'sub', 'b.js'));
    expect(staleReason(root)).toBe('dist/sub/b.js is missing');
  });

  it('INV-BUILD-1: a source that does not compile → build rejects and the last good dist/ stays marked for what it was built from (stale)', async () => {
    await build(root);
    src('sub/b.ts', 'export const b: number = ;\n');
    await expect(build(root)).rejects.toThrow();
    expect(staleReason(root)).toBe('src/ changed since dist/ was built');
    expect(dist('sub/b.js')).toContain('const b = 2');
  });
});

describe('INV-BUILD-2: what npm start loads before it is ready', () => {
  it('INV-BUILD-2: src/main.ts reaches no Prisma client, no tsx/esbuild and no IBKR client through static imports (each costs idle memory; they load on demand: STORE_ADAPTER=prisma, BROKER=ibkr)', async () => {
    const esbuild = await import('esbuild');
    const repo = join(import.meta.dirname, '..', '..');
    const out = await esbuild.build({ absWorkingDir: repo, entryPoints: ['src/main.ts'], bundle: true, packages: 'external', platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
    const inputs = out.metafile.inputs;
    // walk static imports only (dynamic import() is what keeps the heavy parts out)
    const seen = new Set<string>();
    const externals = new Set<string>();
    const todo = ['src/main.ts'];
    while (todo.length) {
      const f = todo.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      for (const i of inputs[f]?.imports ?? []) {
        if (i.kind !== 'import-statement') continue;
        if (i.external) externals.add(i.path);
        else todo.push(i.path);
      }
    }
    expect(seen.size).toBeGreaterThan(50); // the walk did find the service
    expect(seen.has('src/service.ts')).toBe(true);
    const heavy = [...seen].filter((f) => /src\/store\/(database|prisma\.store)\.ts$|src\/store\/generated\/|src\/broker\/ibkr\//.test(f));
    expect(heavy).toEqual([]);
    expect([...externals].filter((p) => /^(@prisma\/|prisma$|tsx|esbuild|@stoqey\/ib)/.test(p))).toEqual([]);
    expect(externals.has('better-sqlite3')).toBe(true); // the walk does see packages
  });
});
