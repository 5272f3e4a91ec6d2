/** Alert pipeline (SPEC 9): pure aggregation and rendering, pacing, the outbox sender. */
export * from './aggregate.js';
export * from './html.js';
export * from './chat-budget.js';
export * from './render.js';
export * from './transport.js';
export { AlertSender, startAlertSender, type AlertSenderOptions, type SenderStats } from './sender.js';
