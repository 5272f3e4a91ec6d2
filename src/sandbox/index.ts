/** Public entry of the sandbox Bot API server (see server.ts). */
export * from './server.js';
export { escapeHtml, LIMITS, parseHtml, callbackDataValid } from './html-limits.js';
