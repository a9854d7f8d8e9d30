/**
 * The action API on the operations server: off by default, never without the bearer token, and
 * the same decisions as the CLI (quarantine, list, release) through the same guardrails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionEngine } from '../../src/actions/action-engine.js';
import { QUARANTINE_LABEL } from '../../src/actions/kube.js';
import { defaultActionsOptions } from '../../src/actions/options.js';
import type { Alert } from '../../src/alerts/alert.js';
import { silentLogger } from '../../src/core/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { actionApi } from '../../src/server/action-api.js';
import { OpsServer } from '../../src/server/ops-server.js';
import { opensslOrSkip } from '../support/certs.js';
import { cleanupPki, startKube, type KubeFixture } from '../support/kube.js';

const TOKEN = 'responder-token-0123456789';
const haveOpenssl = opensslOrSkip('action API tests against the Kubernetes API stand-in');

describe.skipIf(!haveOpenssl)('the action API', () => {
  let k: KubeFixture;
  let on: OpsServer;
  let off: OpsServer;
  let base = '';
  let offBase = '';
  const audit: Alert[] = [];

  beforeAll(async () => {
    k = await startKube();
    k.api.addPod('shop', 'checkout-7f9', { node: 'worker-1' });
    k.api.addPod('kube-system', 'coredns-1', { node: 'worker-1' });
    const logger = silentLogger();
    const metrics = createMetrics({ processMetrics: false });
    const engine = new ActionEngine(defaultActionsOptions(), { logger, metrics, kube: k.kube, node: 'worker-1', sink: (a) => audit.push(a) });
    const probe = (): null => null;
    on = new OpsServer({ listen: '127.0.0.1:0', metrics, logger, health: probe, ready: probe, api: actionApi(engine, TOKEN, logger) });
    off = new OpsServer({ listen: '127.0.0.1:0', metrics, logger, health: probe, ready: probe });
    const a = await on.start();
    const b = await off.start();
    base = `http://${a.host}:${a.port}`;
    offBase = `http://${b.host}:${b.port}`;
  });
  afterAll(async () => {
    await on.close();
    await off.close();
    await k.close();
    cleanupPki();
  });

  const call = (method: string, path: string, body?: unknown, token: string | null = TOKEN) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('is not there unless configured', async () => {
    expect((await fetch(`${offBase}/api/v1/quarantine`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });

  it('refuses a missing or wrong token, touching nothing', async () => {
    k.api.clearRequests();
    const none = await call('POST', '/api/v1/quarantine/shop/checkout-7f9', {}, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await call('POST', '/api/v1/quarantine/shop/checkout-7f9', {}, 'responder-token-0123456788')).status).toBe(401);
    expect((await call('GET', '/api/v1/quarantine', undefined, '')).status).toBe(401);
    expect(k.api.requests).toEqual([]);
  });

  it('quarantines, lists and releases, acting for real though automation is in dry run', async () => {
    audit.length = 0;
    const q = await call('POST', '/api/v1/quarantine/shop/checkout-7f9', { reason: 'SOAR playbook 7', ttl: '4h' });
    expect(q.status).toBe(200);
    expect(await q.json()).toMatchObject({ name: 'quarantine', outcome: 'executed', trigger: 'manual', dry_run: false, target: { namespace: 'shop', pod: 'checkout-7f9' } });
    expect((k.api.pod('shop', 'checkout-7f9')!.metadata['labels'] as Record<string, string>)[QUARANTINE_LABEL]).toBe('true');

    const list = (await (await call('GET', '/api/v1/quarantine')).json()) as { items: { pod: string; reason: string }[] };
    expect(list.items).toEqual([expect.objectContaining({ pod: 'checkout-7f9', reason: 'SOAR playbook 7' })]);

    const r = await call('DELETE', '/api/v1/quarantine/shop/checkout-7f9');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ name: 'release', outcome: 'executed' });
    expect(k.api.pod('shop', 'checkout-7f9')!.metadata['labels']).toEqual({});
    expect(audit.map((a) => `${a.action!.name}:${a.action!.outcome}`)).toEqual(['quarantine:executed', 'release:executed']);
  });

  it('answers 403 with the guardrail, 502 when the API fails, 400 for a bad body, 405 for a bad verb', async () => {
    audit.length = 0;
    k.api.clearRequests();
    const refused = await call('POST', '/api/v1/quarantine/kube-system/coredns-1', {});
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ outcome: 'refused', reason: 'namespace_protected' });
    const missing = await call('POST', '/api/v1/quarantine/shop/ghost', {});
    expect(missing.status).toBe(502);
    expect(await missing.json()).toMatchObject({ outcome: 'failed', reason: 'not_found' });
    expect((await call('POST', '/api/v1/quarantine/shop/checkout-7f9', { ttl: 'forever' })).status).toBe(400);
    expect((await fetch(`${base}/api/v1/quarantine/shop/checkout-7f9`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '[1,' })).status).toBe(400);
    expect((await call('PUT', '/api/v1/quarantine/shop/checkout-7f9', {})).status).toBe(405);
    const dry = await call('POST', '/api/v1/quarantine/shop/checkout-7f9', { dry_run: true });
    expect(await dry.json()).toMatchObject({ outcome: 'dry_run' });
    // Each decision is audited; none changed a pod or a policy (the failure is recorded as an Event).
    expect(audit.map((a) => `${a.action!.name}:${a.action!.outcome}`)).toEqual(['quarantine:refused', 'quarantine:failed', 'quarantine:dry_run']);
    expect(k.api.mutating().map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v1/namespaces/shop/events']);
  });
});
