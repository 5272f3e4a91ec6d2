/** Mock signals for `phoenix demo`, tests and in-process demos. */
export { DEFAULT_BURST, SHOWCASE, SignalGenerator, frontMonth, generateSignals } from './signals.js';
export type { DemoExpectation, DemoKind, DemoSignal, GenerateOptions, GeneratorOptions } from './signals.js';
export { DEMO_START_HINT, demoCommand, parseDemoArgs, parseDuration, runDemo } from './command.js';
export type { DemoArgs, DemoFetch, DemoIo, DemoOptions } from './command.js';
