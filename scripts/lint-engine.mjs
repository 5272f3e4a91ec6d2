#!/usr/bin/env node
// Keeps src/engine pure (style.md lesson 1-2): no I/O libraries, no other src layers, no
// ambient time or randomness. And keeps ONE DOOR into it (issue 15): outside src/engine, code in
// src/, sim/, bench/ and scripts/ imports the engine only through src/engine/index.js, and
// src/engine/testing.js (the context accessor) is imported only by test/engine and test/support.
// Fails with every offending line listed.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const engineDir = join(root, 'src', 'engine');

const forbiddenImports = [
  /^grammy$/, /^@grammyjs\//, /^@stoqey\/ib/, /^@prisma\//, /^prisma$/, /generated\/prisma|store\/generated/,
  /^better-sqlite3$/, /^node-cron$/, /^pino/, /^rxjs/,
  /^(node:)?(fs|fs\/promises|net|http|https|http2|dgram|child_process|cluster|worker_threads|dns|tls|readline|process|os|timers)$/,
  /(^|\/)\.\.\/(bot|broker|store|jobs|http|cli|sandbox|config|runtime)(\/|$)/,
];
const forbiddenCalls = [
  [/\bDate\.now\s*\(/, 'Date.now(): use the injected Clock'],
  [/\bnew Date\s*\(\s*\)/, 'new Date(): use the injected Clock'],
  [/\bMath\.random\s*\(/, 'Math.random(): use the injected Random'],
  [/\b(randomUUID|randomBytes|getRandomValues)\s*\(/, 'crypto randomness: use the injected Random'],
  [/\b(setTimeout|setInterval|setImmediate)\s*\(/, 'timers: use Clock.schedule'],
  [/\bprocess\.(env|exit|argv)/, 'process globals: pass configuration in'],
];

function files(dir, ext = /\.ts$/) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' || name.startsWith('generated') ? [] : files(p, ext);
    return ext.test(p) && !p.endsWith('.d.ts') && !p.endsWith('.d.mts') ? [p] : [];
  });
}

/** Every module specifier on a line: static imports, re-exports, dynamic import(). */
const specifiers = (code) => [...code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);

const problems = [];
for (const file of files(engineDir)) {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const where = `${relative(root, file)}:${i + 1}`;
    const code = line.replace(/\/\/.*$/, '');
    for (const spec of specifiers(code)) {
      if (forbiddenImports.some((re) => re.test(spec))) problems.push(`${where} imports '${spec}' (engine must stay pure)`);
    }
    if (/^\s*(\*|\/\*)/.test(line)) return; // doc comments may mention what is banned
    for (const [re, why] of forbiddenCalls) if (re.test(code)) problems.push(`${where} ${why}`);
  });
}

// === One door: the facade and its types (src/engine/index.ts), nothing else
const door = join(engineDir, 'index.ts');
const testing = join(engineDir, 'testing.ts');
const CODE = /\.(ts|mts|mjs|js)$/;
const outside = ['src', 'sim', 'bench', 'scripts'].flatMap((d) => files(join(root, d), CODE)).filter((f) => !f.startsWith(engineDir + '/'));
const rootFiles = readdirSync(root).filter((n) => CODE.test(n) && !n.endsWith('.d.ts')).map((n) => join(root, n));
/** the engine module a relative specifier names (as its .ts file), or null */
const engineModule = (file, spec) => {
  if (!spec.startsWith('.')) return null;
  const target = resolve(dirname(file), spec).replace(/\.(js|mjs)$/, '.ts');
  return target.startsWith(engineDir + '/') ? target : null;
};
// tests: the context accessor only in tests of engine internals and the shared test support
const testDir = join(root, 'test');
const testFiles = files(testDir, CODE).filter((f) => !f.startsWith(join(testDir, 'engine') + '/') && !f.startsWith(join(testDir, 'support') + '/'));
let checked = 0;
for (const file of [...outside, ...rootFiles, ...files(engineDir), ...testFiles]) {
  checked++;
  const inEngine = file.startsWith(engineDir + '/');
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (/^\s*(\*|\/\*)/.test(line)) return;
    for (const spec of specifiers(code)) {
      const target = engineModule(file, spec);
      if (!target) continue;
      const where = `${relative(root, file)}:${i + 1}`;
      const inTests = file.startsWith(testDir + '/');
      if (target === testing && file !== testing) problems.push(`${where} imports '${spec}': src/engine/testing.ts is for test/engine and test/support only`);
      else if (!inEngine && !inTests && target !== door) problems.push(`${where} imports '${spec}': outside src/engine, import the engine only from engine/index.js (the facade and its types)`);
    }
  });
}

if (problems.length) {
  console.error(`engine lint failed (${problems.length}):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`engine purity check: ok; one door: ok (${checked} files checked: only engine/index.js imported from outside src/engine, engine/testing.js only from test/engine and test/support)`);
