/**
 * POST of one intent as a JSON body, shared by the intake (POST /v1/intents) and the operator
 * CLI's admin route (POST /v1/admin/intents): read the body (64 KiB at most), parse it, submit
 * it, answer 400 (unreadable or invalid), 409 (signalId already seen) or 202 (accepted).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Engine, Logger } from '../engine/index.js';
import { readBody, send } from './respond.js';

export interface SubmitVia {
  readonly source: 'http' | 'cli';
  /** a too-large body also closes the connection (the public intake) */
  readonly closeOn413: boolean;
}

export async function submitIntentBody(req: IncomingMessage, res: ServerResponse, engine: Engine, logger: Logger, via: SubmitVia): Promise<void> {
  const body = await readBody(req);
  if (!body.ok) return send(res, body.status, { error: body.error, ...(body.status === 400 ? { issues: [{ path: '(body)', message: body.error }] } : {}) }, via.closeOn413 && body.status === 413 ? { connection: 'close' } : {});
  let raw: unknown;
  try {
    raw = JSON.parse(body.text);
  } catch (e) {
    const message = body.text.trim() ? `malformed JSON: ${(e as Error).message}` : 'empty body: send the intent as a JSON object';
    return send(res, 400, { error: message, issues: [{ path: '(body)', message }] });
  }
  const result = await engine.submitIntent(raw, via.source);
  switch (result.kind) {
    case 'invalid':
      return send(res, 400, { error: `invalid intent: ${result.issues.length} problem${result.issues.length > 1 ? 's' : ''}`, issues: result.issues });
    case 'duplicate':
      return send(res, 409, { error: 'signalId already seen; nothing was duplicated', intentId: result.intentId, state: result.state });
    case 'accepted':
      logger.info({ intentId: result.intentId, state: result.state, denials: result.denials.map((d) => d.code), ...(via.source === 'cli' ? { via: 'cli' } : {}) }, 'intent accepted');
      return send(res, 202, { intentId: result.intentId, state: result.state, denials: result.denials, ...(result.shadow ? { shadow: true } : {}) });
  }
}
