/**
 * `phoenix …` entry point: find the command in the table, run it, exit with its code.
 * Configuration problems print every problem with its fix (exit 2); an unknown command says
 * so and prints the help (exit 2). `--demo` anywhere: the demo's own data directory.
 */
import { createInterface } from 'node:readline/promises';
import { ConfigError } from '../config/load.js';
import { COMMANDS, helpText, UsageError } from './commands.js';
import { CliContext, type CliIo } from './context.js';
import { takeDemoFlag } from '../demo/data-dir.js';

export async function runCli(argv: string[], io: CliIo, env: Record<string, string | undefined>, cwd: string): Promise<number> {
  // `--demo` (any command): work on the demo's own data directory, like `npm start -- --demo`
  const { demo, rest } = takeDemoFlag(argv);
  const words = rest.join(' ');
  const cmd = [...COMMANDS].sort((a, b) => b.name.length - a.name.length).find((c) => words === c.name || words.startsWith(`${c.name} `));
  if (rest.length === 0 || rest[0] === 'help' || rest.includes('--help')) {
    io.out(helpText());
    return 0;
  }
  if (!cmd) {
    io.err(`unknown command: ${rest.join(' ')}`);
    io.err(helpText());
    return 2;
  }
  const ctx = new CliContext(io, env, cwd, demo && cmd.name !== 'demo');
  try {
    return await cmd.run(ctx, argv.slice(cmd.name.split(' ').length));
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(e.message);
      return 2;
    }
    if (e instanceof UsageError) {
      io.err(`${e.message}\nusage: ${cmd.usage}`);
      return 2;
    }
    io.err(`phoenix ${cmd.name} failed: ${(e as Error).message}`);
    return 1;
  } finally {
    await ctx.close();
  }
}

const terminalIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  confirm: async (q) => {
    if (!process.stdin.isTTY) return false;
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const a = await rl.question(`${q} [y/N] `);
    rl.close();
    return /^y(es)?$/i.test(a.trim());
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(process.argv.slice(2), terminalIo, process.env, process.cwd()).then((code) => process.exit(code));
}
