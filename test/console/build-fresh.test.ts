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
