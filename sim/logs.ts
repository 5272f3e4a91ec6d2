/**
 * Phoenix's own logger (pino with its redaction, configured like `npm start` does), writing into
 * the simulation instead of stdout. Every finished line is scanned for the configured secrets
 * as it is written (INV-SECRET-1); lines are counted, not kept (a long run writes millions).
 */
import type { Logger } from '../src/engine/index.js';
import { createLogger } from '../src/runtime/logger.js';
import { SECRETS } from './desk.js';

export class LogCapture {
  lines = 0;
  errors = 0;
  /** the last few error lines, for a violation report */
  readonly recentErrors: string[] = [];
  readonly logger: Logger;

  constructor(
    level: string,
    private readonly scan: (where: string, text: string) => void,
  ) {
    const sink = {
      write: (line: string) => {
        this.lines++;
        this.scan('log line', line);
        if (line.includes('"level":50') || line.includes('"level":60')) {
          this.errors++;
          this.recentErrors.push(line.slice(0, 400));
          if (this.recentErrors.length > 20) this.recentErrors.shift();
        }
        return true;
      },
    };
    // like src/main.ts: the secrets' values are also cut out of every line
    this.logger = createLogger(level, sink as unknown as NodeJS.WritableStream, { secrets: Object.values(SECRETS) });
  }
}
