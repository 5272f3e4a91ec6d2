/**
 * Run the sandbox on its own for demos or manual poking:
 *   npx tsx src/sandbox/run.ts [port]        (default 8081; SANDBOX_PORT also works)
 * Point a bot at the printed apiRoot and open the console URL in a browser.
 */
import { startSandbox } from './server.js';

const port = Number(process.argv[2] ?? process.env.SANDBOX_PORT ?? 8081);
const sandbox = await startSandbox({ port, host: process.env.SANDBOX_HOST ?? '127.0.0.1' });
console.log(`sandbox Bot API: apiRoot=${sandbox.apiRoot}  console: ${sandbox.url}`);

const stop = (): void => {
  void sandbox.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
