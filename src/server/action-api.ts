/**
 * The manual runbook over HTTP, for a SOAR or a responder's script: the same decisions as
 * `lanner quarantine`, through the same guardrails. Off unless `actions.api.enabled`, and never
 * without a bearer token (compared in constant time).
 *
 *   GET    /api/v1/quarantine              quarantined pods, cluster-wide
 *   POST   /api/v1/quarantine/NS/POD       quarantine (body: {"reason", "ttl", "dry_run"}, all optional)
 *   DELETE /api/v1/quarantine/NS/POD       release
 *
 * Answers: 200 with the decision when executed or dry run; 403 when a guardrail refused it
 * (`reason` says which); 502 when the Kubernetes API failed it; 400, 401, 404, 405, 413 as usual
 * (413 as soon as the body passes 64 KiB, without reading the rest); 429 and 503 with
 * `Retry-After` from the operations server when too many requests are in progress.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActionEngine } from '../actions/action-engine.js';
import type { Decision } from '../actions/audit.js';
import { LannerError } from '../core/errors.js';
import { stringifyExact } from '../core/exact-json.js';
import { parseDurationMs } from '../core/units.js';
import type { Logger } from '../core/log.js';
import { bearerCheck } from '../core/bearer.js';
import type { ApiHandler } from './ops-server.js';

const MAX_BODY = 64 * 1024;
/** A reason is recorded in the audit trail and sent to every output: a sentence, not a document. */
const MAX_REASON_CHARS = 1024;
const ITEM = /^\/api\/v1\/quarantine\/([a-z0-9][-a-z0-9]{0,62})\/([a-z0-9][-.a-z0-9]{0,252})$/;

/**
 * The action API's routes. `token` must be a token: empty or blank is refused here, so a
 * configuration that lost its token can never open the API, nor quietly lock it.
 */
export function actionApi(engine: ActionEngine, token: string, logger: Logger): ApiHandler {
  if (token.trim() === '') throw new LannerError('LANNER_CONFIG_INVALID', 'actions.api.token: the action API needs a bearer token, and it is empty');
  const authorized = bearerCheck(token);
  return async (req, res, path) => {
    if (!authorized(req.headers.authorization)) {
      return send(res, 401, { error: 'a bearer token is required (actions.api.token)' }, { 'www-authenticate': 'Bearer' });
    }
    if (path === '/api/v1/quarantine') {
      if (req.method !== 'GET') return send(res, 405, { error: 'GET lists quarantined pods' }, { allow: 'GET' });
      try {
        return send(res, 200, { items: await engine.list() });
      } catch (err) {
        return send(res, 502, { error: (err as Error).message });
      }
    }
    const m = ITEM.exec(path);
    if (!m) return send(res, 404, { error: 'not found: try /api/v1/quarantine or /api/v1/quarantine/NAMESPACE/POD' });
    const [, namespace, pod] = m as unknown as [string, string, string];
    if (req.method !== 'POST' && req.method !== 'DELETE') return send(res, 405, { error: 'POST quarantines, DELETE releases' }, { allow: 'POST, DELETE' });
    const body = await readJson(req);
    if (body === 'too_large') return send(res, 413, { error: `the body is over ${MAX_BODY} bytes` }, { connection: 'close' });
    if (body === 'invalid') return send(res, 400, { error: 'the body must be a JSON object' });
    if (body['reason'] !== undefined && typeof body['reason'] !== 'string') return send(res, 400, { error: 'reason: expected a string' });
    const reason = body['reason'];
    if (reason !== undefined && reason.length > MAX_REASON_CHARS) return send(res, 400, { error: `reason: at most ${MAX_REASON_CHARS} characters` });
    logger.info({ namespace, pod, method: req.method, remote: req.socket.remoteAddress }, 'action API request');
    let decision: Decision;
    if (req.method === 'DELETE') {
      decision = await engine.release({ namespace, name: pod }, 'manual', reason);
    } else {
      let ttlMs: number | undefined;
      if (body['ttl'] !== undefined) {
        ttlMs = typeof body['ttl'] === 'string' || typeof body['ttl'] === 'number' ? parseDurationMs(body['ttl']) : undefined;
        if (ttlMs === undefined || ttlMs <= 0) return send(res, 400, { error: 'ttl: expected a duration such as 30m or 24h' });
      }
      if (body['dry_run'] !== undefined && typeof body['dry_run'] !== 'boolean') return send(res, 400, { error: 'dry_run: expected true or false' });
      decision = await engine.perform(
        { action: 'quarantine', target: { kind: 'pod', namespace, pod }, trigger: 'manual', ...(reason ? { reason } : {}), ...(ttlMs ? { ttlMs } : {}) },
        body['dry_run'] === true,
      );
    }
    const status = decision.verdict.outcome === 'refused' ? 403 : decision.verdict.outcome === 'failed' ? 502 : 200;
    return send(res, status, decisionBody(decision));
  };
}

export function decisionBody(d: Decision): Record<string, unknown> {
  return { id: d.id, ...d.record, message: d.verdict.message };
}

/** The body as a JSON object; reading stops at MAX_BODY, and a request cut short settles too. */
function readJson(req: IncomingMessage): Promise<Record<string, unknown> | 'too_large' | 'invalid'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= MAX_BODY) {
        chunks.push(c);
        return;
      }
      req.off('data', onData);
      chunks.length = 0;
      resolve('too_large');
    };
    req.on('data', onData);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve({});
      try {
        const v: unknown = JSON.parse(text);
        resolve(typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : 'invalid');
      } catch {
        resolve('invalid');
      }
    });
    req.on('error', () => resolve('invalid'));
    req.on('close', () => resolve('invalid'));
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded) return;
  // Decisions quote what callers and the Kubernetes API wrote; stringifyExact never throws on a bigint.
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(`${stringifyExact(body)}\n`);
}

