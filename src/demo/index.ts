/** Mock signals for `phoenix demo`, tests and in-process demos; the demo's own data directory. */
export { DEFAULT_BURST, SHOWCASE, SignalGenerator, frontMonth, generateSignals } from './signals.js';
export type { DemoExpectation, DemoKind, DemoSignal, GenerateOptions, GeneratorOptions } from './signals.js';
export { DEFAULT_COUNT, DEMO_START_HINT, demoCommand, parseDemoArgs, parseDuration, runDemo } from './command.js';
export type { DemoArgs, DemoFetch, DemoIo, DemoOptions } from './command.js';
export { DEMO_CONSTITUTION_PATH, DEMO_DATABASE_URL, DEMO_START, demoEnv } from './data-dir.js';
