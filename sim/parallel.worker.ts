/** One simulation worker (sim/parallel.ts): runs the worlds it is sent, one at a time, and answers each. */
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerRun } from './parallel.js';
import { runEpoch } from './run.js';

const port = parentPort;
if (!port) throw new Error('sim/parallel.worker.ts runs only as a worker thread');
const o = workerData as WorkerRun;
const say = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if ('done' in m) return port.close();
  runEpoch({ ...o, ...(o.logs ? { log: (line: string) => say({ log: line }) } : {}) }, m.epoch).then(
    (result) => say({ result }),
    (e: Error) => say({ error: `world ${m.epoch.n}: ${e.stack ?? e.message}` }),
  );
});
