#!/usr/bin/env node
// Compiles src/**/*.ts to dist/**/*.js (one file per source, same folder depth, so paths
// such as src/store/migrate.ts → ../../prisma/migrations still resolve) with esbuild: types
// are stripped, nothing is bundled, node_modules stay where they are. `npm start` runs the
// result (scripts/start.mjs): no TypeScript transpiler in the running service.
//
// dist/.build.json records a digest of every source file; `distIsFresh` compares it with
// src/ as it is now, so a developer who edits src/ and runs `npm start` gets a rebuild,
// never yesterday's code. Writes are atomic per file (temp + rename) and the stamp is
// written last: two processes building at once produce the same files, and a reader
// never sees half a file.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** bump when the build options below change: every dist/ is then stale */
const BUILD_FORMAT = 1;
const STAMP = '.build.json';

const srcDir = (root) => join(root, 'src');
const distDir = (root) => join(root, 'dist');

/** The TypeScript sources, sorted, as paths relative to src/ ('/' separators). */
export function sources(root = ROOT) {
  return readdirSync(srcDir(root), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.split(sep).join('/'))
    .sort();
}

/** sha256 over every source's path and bytes (content, not mtimes: a checkout or a faked clock cannot fool it). */
export function sourceDigest(root = ROOT) {
  const h = createHash('sha256').update(`phoenix-build ${BUILD_FORMAT}\n`);
  for (const f of sources(root)) h.update(`${f}\n`).update(readFileSync(join(srcDir(root), f))).update('\n');
  return h.digest('hex');
}

function readStamp(root) {
  try {
    return JSON.parse(readFileSync(join(distDir(root), STAMP), 'utf8'));
  } catch {
    return null;
  }
}

/** Size and mtime of every source: the fast check (the digest decides when any differs). */
export function sourceStats(root = ROOT) {
  return sources(root).map((f) => {
    const s = statSync(join(srcDir(root), f));
    return `${f} ${s.size} ${s.mtimeMs}`;
  });
}

/** null when dist/ matches src/ exactly; else why not (for the message). */
export function staleReason(root = ROOT) {
  const stamp = readStamp(root);
  if (!stamp) return 'dist/ has not been built';
  const stats = sourceStats(root);
  const sameStats = Array.isArray(stamp.stats) && stamp.stats.length === stats.length && stats.every((s, i) => s === stamp.stats[i]);
  // stats taken before the digest at build time: any later edit changes them, then the bytes decide
  if (!sameStats && stamp.digest !== sourceDigest(root)) return 'src/ changed since dist/ was built';
  const missing = (stamp.files ?? []).find((f) => !existsSync(join(distDir(root), f)));
  if (missing) return `dist/${missing} is missing`;
  return null;
}

const writeAtomic = (file, bytes) => {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
};

/** Compile src/ → dist/. Returns the number of files and the time taken. */
export async function build(root = ROOT) {
  const t0 = performance.now();
  const stats = sourceStats(root);
  const digest = sourceDigest(root);
  const files = sources(root);
  const esbuild = await import('esbuild');
  try {
    const out = await esbuild.build({
      absWorkingDir: root,
      entryPoints: files.map((f) => `src/${f}`),
      outdir: 'dist',
      outbase: 'src',
      bundle: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // stack traces map back to src/ with NODE_OPTIONS=--enable-source-maps (off by default: it costs memory)
      sourcemap: 'linked',
      sourcesContent: false,
      write: false,
      logLevel: 'warning',
    });
    const written = [];
    for (const o of out.outputFiles) {
      writeAtomic(o.path, o.contents);
      written.push(relative(distDir(root), o.path).split(sep).join('/'));
    }
    // outputs of sources that no longer exist
    const keep = new Set([...written, STAMP]);
    if (existsSync(distDir(root))) {
      for (const f of readdirSync(distDir(root), { recursive: true }).map(String)) {
        const rel = f.split(sep).join('/');
        if (/\.js(\.map)?$/.test(rel) && !keep.has(rel)) rmSync(join(distDir(root), f), { force: true });
      }
    }
    writeAtomic(join(distDir(root), STAMP), `${JSON.stringify({ digest, stats, files: written.filter((f) => f.endsWith('.js')) }, null, 1)}\n`);
    return { files: files.length, ms: performance.now() - t0 };
  } finally {
    await esbuild.stop?.(); // no esbuild service left running in the caller (npm start rebuilds in-process)
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  build().then(
    (r) => process.stdout.write(`phoenix: compiled ${r.files} files src/ → dist/ in ${(r.ms / 1000).toFixed(1)} s\n`),
    (e) => {
      process.stderr.write(`phoenix: build failed: ${e.message}\n`);
      process.exit(1);
    },
  );
}
