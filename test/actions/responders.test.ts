/**
 * The responders beside quarantine, each with the requests or effects it must produce and the
 * targets it must refuse: the pod Event, cordon, delete after evidence, the signed SOAR webhook,
 * and the process kill against a real process.
 */
import { spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActionEngine } from '../../src/actions/action-engine.js';
import { defaultActionsOptions, type ActionsOptions } from '../../src/actions/options.js';
import type { Alert } from '../../src/alerts/alert.js';
import { silentLogger } from '../../src/core/log.js';
import { shellAlert } from '../support/alerts.js';
import { opensslOrSkip } from '../support/certs.js';
import { cleanupPki, startKube, type KubeFixture } from '../support/kube.js';

const haveOpenssl = opensslOrSkip('responder tests against the Kubernetes API stand-in');

function alertFor(actions: string[], extra: Partial<Alert> = {}): Alert {
  const a = shellAlert({ rule: 'Container runtime socket reached', priority: 'Critical' });
  return { ...a, workload: { ...a.workload, namespace: 'shop', pod: 'checkout-7f9' }, node: 'worker-1', actions, ...extra };
}

function engineWith(k: KubeFixture | undefined, options: Partial<ActionsOptions>, audit: Alert[]): ActionEngine {
  return new ActionEngine(defaultActionsOptions({ dryRun: false, ...options }), { logger: silentLogger(), kube: k?.kube, node: 'worker-1', sink: (a) => audit.push(a) });
}

const outcomes = (audit: Alert[]): string[] => audit.filter((a) => a.action).map((a) => `${a.action!.name}:${a.action!.outcome}${a.action!.reason ? `:${a.action!.reason}` : ''}`);

describe.skipIf(!haveOpenssl)('Kubernetes responders', () => {
  let k: KubeFixture;
  beforeEach(async () => {
    k = await startKube();
    k.api.addPod('shop', 'checkout-7f9', { node: 'worker-1' });
    k.api.addNode('worker-1');
    k.api.addNode('cp-1', { 'node-role.kubernetes.io/control-plane': '' });
    k.api.addNode('worker-9', { 'lanner.dev/protect': 'true' });
  });
  afterEach(async () => k.close());
  afterAll(() => cleanupPki());

  it('event: one Event on the pod with the alert, which kubectl describe pod shows', async () => {
    const audit: Alert[] = [];
    const engine = engineWith(k, {}, audit);
    const alert = alertFor(['event']);
    engine.handle(alert);
    await engine.idle();
    expect(k.api.mutating().map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v1/namespaces/shop/events']);
    const ev = k.api.events[0]!;
    expect(ev['involvedObject']).toMatchObject({ kind: 'Pod', apiVersion: 'v1', namespace: 'shop', name: 'checkout-7f9', uid: k.api.pod('shop', 'checkout-7f9')!.metadata['uid'] });
    expect(ev).toMatchObject({ type: 'Warning', reason: 'LannerAlert', source: { component: 'lanner', host: 'worker-1' } });
    expect(ev['message']).toBe(`Critical Container runtime socket reached: ${alert.output} (lanner alert ${alert.id})`);
    expect(outcomes(audit)).toEqual(['event:executed']);
  });

  it('profiles expand and run in a fixed order: quarantine, event, then delete after the evidence', async () => {
    const audit: Alert[] = [];
    const engine = engineWith(k, { delete: { enabled: true, gracePeriodMs: 20_000 }, profiles: { contain: ['delete', 'quarantine', 'event'] } }, audit);
    engine.handle(alertFor(['contain']));
    await engine.idle();
    expect(outcomes(audit)).toEqual(['quarantine:executed', 'event:executed', 'delete:executed']);
    const sent = k.api.mutating().map((r) => `${r.method} ${r.path}${r.method === 'POST' && r.path.endsWith('events') ? ` ${String((r.body as { reason: string }).reason)}` : ''}`);
    expect(sent).toEqual([
      'POST /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies',
      'PATCH /api/v1/namespaces/shop/pods/checkout-7f9',
      'POST /api/v1/namespaces/shop/events LannerQuarantine',
      'POST /api/v1/namespaces/shop/events LannerAlert',
      'POST /api/v1/namespaces/shop/events LannerDeleting',
      'DELETE /api/v1/namespaces/shop/pods/checkout-7f9',
      'POST /api/v1/namespaces/shop/events LannerDelete',
    ]);
    const del = k.api.mutating().find((r) => r.method === 'DELETE')!;
    expect(del.query).toEqual({ gracePeriodSeconds: '20' });
    expect(k.api.pod('shop', 'checkout-7f9')).toBeUndefined();
  });

  it('an action that is off is refused as disabled, an unknown name as unknown', async () => {
    const audit: Alert[] = [];
    const engine = engineWith(k, {}, audit);
    engine.handle(alertFor(['delete', 'isolate-everything']));
    await engine.idle();
    expect(outcomes(audit).sort()).toEqual(['delete:refused:disabled', 'isolate-everything:refused:unknown_action']);
    expect(k.api.requests).toEqual([]);
  });

  it('cordon: marks a worker unschedulable; never a control-plane or protected node; capped cluster-wide', async () => {
    const audit: Alert[] = [];
    const base = defaultActionsOptions();
    const engine = engineWith(k, { cordon: { enabled: true }, limits: { ...base.limits, perKind: { ...base.limits.perKind, node: 5 } } }, audit);
    for (const node of ['cp-1', 'worker-9', 'worker-1', 'worker-1']) {
      await engine.perform({ action: 'cordon', target: { kind: 'node', node }, trigger: 'manual' }, false);
    }
    k.api.addNode('worker-2');
    await engine.perform({ action: 'cordon', target: { kind: 'node', node: 'worker-2' }, trigger: 'manual' }, false);
    expect(outcomes(audit)).toEqual(['cordon:refused:node_protected', 'cordon:refused:node_protected', 'cordon:executed', 'cordon:executed', 'cordon:refused:limit_cluster']);
    const patches = k.api.mutating().filter((r) => r.method === 'PATCH');
    expect(patches).toEqual([{ method: 'PATCH', path: '/api/v1/nodes/worker-1', query: {}, contentType: 'application/strategic-merge-patch+json', body: { spec: { unschedulable: true } } }]);
    expect(audit[3]!.output).toContain('already cordoned');
    // Node events live in "default", as the kubelet's own do.
    expect(k.api.mutating().filter((r) => r.path.endsWith('/events')).map((r) => r.path)).toContain('/api/v1/namespaces/default/events');
  });
});

describe('webhook responder', () => {
  let server: Server;
  let url = '';
  const received: { body: string; signature: string | undefined }[] = [];
  beforeEach(async () => {
    received.length = 0;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const signature = req.headers['x-lanner-signature'] as string | undefined;
        received.push({ body, signature });
        const expected = `sha256=${createHmac('sha256', 'soar-secret').update(body).digest('hex')}`;
        const ok = signature !== undefined && signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
        res.writeHead(ok ? 202 : 401).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hooks/lanner`;
  });
  afterEach(async () => new Promise<void>((r) => server.close(() => r())));

  const webhook = (secret: string) => ({ enabled: true, url, secret, signatureHeader: 'X-Lanner-Signature', timeoutMs: 2000 });

  it('posts the decision with the alert, signed so the receiver can verify it', async () => {
    const audit: Alert[] = [];
    const engine = engineWith(undefined, { webhook: webhook('soar-secret') }, audit);
    const alert = alertFor(['webhook']);
    engine.handle(alert);
    await engine.close();
    expect(outcomes(audit)).toEqual(['webhook:executed']);
    const body = JSON.parse(received[0]!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ action: 'webhook', trigger: 'alert', node: 'worker-1', target: { kind: 'external', namespace: 'shop', pod: 'checkout-7f9' } });
    expect((body['alert'] as Record<string, unknown>)['id']).toBe(alert.id);
  });

  it('counts a refused signature as a failure, and sends nothing in dry run', async () => {
    const audit: Alert[] = [];
    const wrong = engineWith(undefined, { webhook: webhook('wrong-secret') }, audit);
    wrong.handle(alertFor(['webhook']));
    const dry = engineWith(undefined, { dryRun: true, webhook: webhook('soar-secret') }, audit);
    dry.handle(alertFor(['webhook']));
    await Promise.all([wrong.close(), dry.close()]);
    expect(outcomes(audit).sort()).toEqual(['webhook:dry_run', 'webhook:failed:webhook_error']);
    expect(received).toHaveLength(1);
  });
});

describe('kill responder', () => {
  it('signals the process the alert named, and refuses a PID that now belongs to another program', async () => {
    const child = spawn('sleep', ['30']);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    const audit: Alert[] = [];
    const engine = engineWith(undefined, { kill: { enabled: true, signal: 'SIGKILL', procRoot: '/proc' } }, audit);
    const base = alertFor(['kill']);
    engine.handle({ ...base, process: { ...base.process, pid: child.pid!, name: 'bash' } });
    engine.handle({ ...base, id: 'second', process: { ...base.process, pid: 1, name: 'init' } });
    engine.handle({ ...base, id: 'host', workload: { ...base.workload, container_id: 'host' }, process: { ...base.process, pid: child.pid!, name: 'sleep' } });
    engine.handle({ ...base, id: 'third', process: { ...base.process, pid: child.pid!, name: 'sleep' } });
    await engine.idle();
    expect(outcomes(audit)).toEqual(['kill:refused:process_mismatch', 'kill:refused:process_protected', 'kill:refused:process_protected', 'kill:executed']);
    expect(await exited).toBe('SIGKILL');
  });
});
