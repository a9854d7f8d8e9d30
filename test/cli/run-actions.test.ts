/**
 * The service acting end to end: `lanner run` takes a Falco alert over http_output, its config
 * asks for a quarantine of the pod, and with dry run switched off the Kubernetes API stand-in
 * receives exactly the quarantine's requests while stdout carries the alert and then the audit
 * record. SIGTERM lets the decision finish before the outputs close.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUARANTINE_LABEL } from '../../src/actions/kube.js';
import { parseJsonExact, stringifyExact } from '../../src/core/exact-json.js';
import { opensslOrSkip } from '../support/certs.js';
import { assertBuilt, startLanner, waitForLog } from '../support/cli.js';
import { falcoJson } from '../support/events.js';
import { cleanupPki, startKube, type KubeFixture } from '../support/kube.js';
import { waitFor } from '../support/wait.js';

const haveOpenssl = opensslOrSkip('lanner run with response actions against the Kubernetes API stand-in');

describe.skipIf(!haveOpenssl)('lanner run with response actions', () => {
  let k: KubeFixture;
  let dir = '';
  let child: ChildProcessWithoutNullStreams | undefined;
  beforeAll(async () => {
    assertBuilt();
    k = await startKube();
    k.api.addPod('shop', 'checkout-1', { node: 'worker-7', labels: { app: 'checkout' } });
    dir = mkdtempSync(join(tmpdir(), 'lanner-run-actions-'));
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await k.close();
    cleanupPki();
    rmSync(dir, { recursive: true, force: true });
  });

  it('quarantines the pod a Falco alert names, audits it on stdout and as an Event, and counts it', async () => {
    const config = join(dir, 'lanner.yaml');
    writeFileSync(
      config,
      [
        'actions:',
        '  dry_run: false',
        `  kubeconfig: ${k.kubeconfig}`,
        '  rules:',
        '    Terminal shell in container: [quarantine]',
        '',
      ].join('\n'),
    );
    child = startLanner(['run', '--config', config, '--ingest-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'], { NODE_NAME: 'worker-7' });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const [ops, ingest] = await Promise.all([
      waitForLog(child, (e) => e['msg'] === 'serving /metrics, /healthz, /readyz'),
      waitForLog(child, (e) => e['msg'] === 'receiving Falco http_output'),
    ]);
    const shell = falcoJson({ rule: 'Terminal shell in container', priority: 'Critical', fields: { 'k8s.ns.name': 'shop', 'k8s.pod.name': 'checkout-1' } });
    const posted = await fetch(String(ingest['url']), { method: 'POST', body: stringifyExact(shell), headers: { 'content-type': 'application/json' } });
    expect(posted.status).toBe(200);
    await waitForLog(child, (e) => e['action'] === 'quarantine' && e['outcome'] === 'executed');
    // The Event on the pod is the audit trail's last step, after the log line.
    await waitFor(() => k.api.events.length > 0, { what: 'the Event on the pod', intervalMs: 20 });

    expect(k.api.mutating().map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies',
      'PATCH /api/v1/namespaces/shop/pods/checkout-1',
      'POST /api/v1/namespaces/shop/events',
    ]);
    expect((k.api.pod('shop', 'checkout-1')!.metadata['labels'] as Record<string, string>)[QUARANTINE_LABEL]).toBe('true');
    const metrics = await (await fetch(`http://${String(ops['address'])}/metrics`)).text();
    expect(metrics).toContain('lanner_actions_total{action="quarantine",outcome="executed"} 1');

    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = out.trim().split('\n').map((l) => parseJsonExact(l) as Record<string, unknown>);
    expect(lines.map((l) => l['rule'])).toEqual(['Terminal shell in container', 'Lanner response action']);
    const alertId = lines[0]!['id'];
    expect(lines[1]).toMatchObject({
      priority: 'Notice',
      origin: 'lanner',
      node: 'worker-7',
      workload: { namespace: 'shop', pod: 'checkout-1' },
      action: { name: 'quarantine', outcome: 'executed', dry_run: false, trigger: 'alert', alert_id: alertId, alert_rule: 'Terminal shell in container' },
    });
  }, 30_000);
});
