#!/usr/bin/env node
// Keeps src/engine pure (style.md lesson 1-2): no I/O libraries, no other src layers, no
// ambient time or randomness. Fails with every offending line listed.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

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

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const problems = [];
for (const file of files(engineDir)) {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const where = `${relative(root, file)}:${i + 1}`;
    const code = line.replace(/\/\/.*$/, '');
    for (const m of code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      if (forbiddenImports.some((re) => re.test(m[1]))) problems.push(`${where} imports '${m[1]}' (engine must stay pure)`);
    }
    if (/^\s*(\*|\/\*)/.test(line)) return; // doc comments may mention what is banned
    for (const [re, why] of forbiddenCalls) if (re.test(code)) problems.push(`${where} ${why}`);
  });
}

if (problems.length) {
  console.error(`engine purity check failed (${problems.length}):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('engine purity check: ok');
