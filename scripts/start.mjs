#!/usr/bin/env node
// `npm start`: runs the compiled service (dist/main.js, built from src/ by scripts/build.mjs
// at `npm ci`). If src/ changed since that build, it is rebuilt first (about a second), so
// `npm start` never runs old code. Running compiled JavaScript instead of TypeScript through
// tsx saves the transpiler's memory and start-up time (see bench/results.md).
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { ROOT, staleReason } from './build.mjs';

const why = staleReason();
if (why) {
  process.stderr.write(`phoenix: ${why}: compiling src/ → dist/ …\n`);
  try {
    const { build } = await import('./build.mjs');
    const r = await build();
    process.stderr.write(`phoenix: compiled ${r.files} files in ${(r.ms / 1000).toFixed(1)} s\n`);
  } catch (e) {
    process.stderr.write(`phoenix: could not compile src/ (${e.message}); fix the error above, or run \`npm run build\` to see it again\n`);
    process.exit(1);
  }
}
await import(pathToFileURL(join(ROOT, 'dist', 'main.js')).href);
