/**
 * The small HTTP helpers the intake routes share: JSON answers, a size-limited body read, and the
 * two refusals every write route makes first (who may call, how often).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLoopbackAddress } from '../runtime/loopback.js';
import { retryAfterSec, type TokenBucket } from '../runtime/token-bucket.js';
import { tokenMatches } from './bearer.js';

export const MAX_BODY_BYTES = 64 * 1024;

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export type Body = { ok: true; text: string } | { ok: false; status: number; error: string };

export function readBody(req: IncomingMessage): Promise<Body> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      resolve({ ok: false, status: 413, error: `body is ${declared} bytes; the limit is ${MAX_BODY_BYTES} bytes (64 KiB)` });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        req.resume();
        resolve({ ok: false, status: 413, error: `body is over the limit of ${MAX_BODY_BYTES} bytes (64 KiB)` });
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolve({ ok: true, text: Buffer.concat(chunks).toString('utf8') });
    });
    req.on('error', () => {
      if (!done) resolve({ ok: false, status: 400, error: 'request body could not be read' });
    });
  });
}

/**
 * With a token: the caller must send it as a bearer token (401 otherwise); without one: loopback
 * callers only (401 otherwise). True when it answered (the caller was refused).
 */
export function refusedCaller(req: IncomingMessage, res: ServerResponse, token: string | undefined, words: { readonly wrongToken: string; readonly notLoopback: string }): boolean {
  if (token ? tokenMatches(req.headers.authorization, token) : isLoopbackAddress(req.socket.remoteAddress)) return false;
  req.resume();
  if (token) send(res, 401, { error: words.wrongToken }, { 'www-authenticate': 'Bearer' });
  else send(res, 401, { error: words.notLoopback });
  return true;
}

/** Over the intake rate: 429 with Retry-After. True when it answered (the request was refused). */
export function refusedOverRate(req: IncomingMessage, res: ServerResponse, bucket: TokenBucket, ratePerMinute: number): boolean {
  const took = bucket.take();
  if (took.ok) return false;
  req.resume();
  const retry = retryAfterSec(took.retryInMs);
  send(res, 429, { error: `over the intake rate limit (${ratePerMinute}/min); retry in ${retry} s` }, { 'retry-after': String(retry) });
  return true;
}
