/**
 * The manual runbook end to end: the built `lanner` binary against the Kubernetes API stand-in
 * over HTTPS, with a kubeconfig as kubectl would use it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QUARANTINE_LABEL } from '../../src/actions/kube.js';
import { QUARANTINE_ANNOTATIONS } from '../../src/actions/quarantine.js';
import { opensslOrSkip } from '../support/certs.js';
import { assertBuilt, lanner } from '../support/cli.js';
import { cleanupPki, startKube, type KubeFixture } from '../support/kube.js';

const haveOpenssl = opensslOrSkip('lanner quarantine end-to-end tests');

describe.skipIf(!haveOpenssl)('lanner quarantine, list and release', () => {
  // A fresh cluster for each test: what one test quarantined or recorded is not another's start.
  let k: KubeFixture;
  beforeAll(assertBuilt);
  beforeEach(async () => {
    k = await startKube();
    k.api.addPod('shop', 'checkout-7f9', { node: 'worker-1', labels: { app: 'checkout' } });
    k.api.addPod('kube-system', 'coredns-1', { node: 'worker-1' });
  });
  afterEach(() => k.close());
  afterAll(cleanupPki);

  it('quarantines one pod with a reason and TTL, lists it, and releases it', async () => {
    const q = await lanner(['quarantine', 'shop/checkout-7f9', '--kubeconfig', k.kubeconfig, '--reason', 'IR-1234 reverse shell', '--ttl', '2h']);
    expect(q.stderr).toBe('');
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/^quarantined pod shop\/checkout-7f9 until \S+ \(NetworkPolicy lanner-quarantine created\); the pod keeps running for forensics\n$/);
    const pod = k.api.pod('shop', 'checkout-7f9')!;
    expect(pod.metadata['labels']).toEqual({ app: 'checkout', [QUARANTINE_LABEL]: 'true' });
    const annotations = pod.metadata['annotations'] as Record<string, string>;
    expect(annotations[QUARANTINE_ANNOTATIONS.reason]).toBe('IR-1234 reverse shell');
    expect(annotations[QUARANTINE_ANNOTATIONS.by]).toBe('manual');
    const hours = (Date.parse(annotations[QUARANTINE_ANNOTATIONS.until]!) - Date.parse(annotations[QUARANTINE_ANNOTATIONS.at]!)) / 3600_000;
    expect(hours).toBeCloseTo(2, 2);

    const list = await lanner(['quarantine', 'list', '--kubeconfig', k.kubeconfig, '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ namespace: 'shop', pod: 'checkout-7f9', node: 'worker-1', by: 'manual', reason: 'IR-1234 reverse shell', expired: false }),
    ]);
    const table = await lanner(['quarantine', 'list', '--kubeconfig', k.kubeconfig]);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+POD\s+NODE\s+SINCE\s+UNTIL\s+BY\s+RULE$/);

    const r = await lanner(['release', 'shop/checkout-7f9', '--kubeconfig', k.kubeconfig, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'release', outcome: 'executed', trigger: 'manual', target: { namespace: 'shop', pod: 'checkout-7f9' } });
    expect(k.api.pod('shop', 'checkout-7f9')!.metadata['labels']).toEqual({ app: 'checkout' });
    expect((await lanner(['quarantine', 'list', '--kubeconfig', k.kubeconfig])).stdout).toBe('no pods are quarantined\n');
    // Each decision is on the pod's record for kubectl describe.
    expect(k.api.events.map((e) => e['reason'])).toEqual(['LannerQuarantine', 'LannerRelease']);
  });

  it('refuses --dry-run on a release rather than releasing for real, and leaves the quarantine in place', async () => {
    expect((await lanner(['quarantine', 'shop/checkout-7f9', '--kubeconfig', k.kubeconfig])).code).toBe(0);
    const r = await lanner(['release', 'shop/checkout-7f9', '--kubeconfig', k.kubeconfig, '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a release has no dry run');
    expect(k.api.pod('shop', 'checkout-7f9')!.metadata['labels']).toEqual({ app: 'checkout', [QUARANTINE_LABEL]: 'true' });
  });

  it('changes nothing with --dry-run', async () => {
    const q = await lanner(['quarantine', 'shop/checkout-7f9', '--kubeconfig', k.kubeconfig, '--dry-run']);
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/^dry run: would quarantine pod shop\/checkout-7f9 until /);
    expect(k.api.mutating()).toEqual([]);
  });

  it('exits 3 naming the guardrail when refused, 1 when the API fails, 2 on bad usage or no credentials', async () => {
    const refused = await lanner(['quarantine', 'kube-system/coredns-1', '--kubeconfig', k.kubeconfig]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^lanner: LANNER_ACTION_REFUSED: namespace_protected: namespace kube-system is never acted on/);

    const missing = await lanner(['quarantine', 'shop/ghost', '--kubeconfig', k.kubeconfig]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('LANNER_ACTION_FAILED: not_found');
    expect(missing.stderr).toContain('pods "ghost" not found');

    expect((await lanner(['quarantine', 'checkout-7f9', '--kubeconfig', k.kubeconfig])).code).toBe(2);
    expect((await lanner(['quarantine', 'shop/checkout-7f9', '--ttl', 'soon', '--kubeconfig', k.kubeconfig])).code).toBe(2);

    const home = mkdtempSync(join(tmpdir(), 'lanner-home-'));
    try {
      const none = await lanner(['quarantine', 'list'], { env: { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' } });
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('LANNER_KUBE_CONFIG');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('prints its help', async () => {
    const h = await lanner(['quarantine', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('lanner release NAMESPACE/POD');
  });
});
