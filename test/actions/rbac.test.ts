/**
 * The ClusterRoles in deploy/kubernetes grant exactly what the responders declare they need, and
 * no more: a test that fails the moment the role grows, or a responder needs something the role
 * lacks. Then the role is put to work: the Kubernetes API stand-in enforces it, and every default
 * action runs under it while a cordon, which the base role does not grant, is forbidden.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ActionEngine } from '../../src/actions/action-engine.js';
import { defaultActionsOptions, RESPONDER_NAMES } from '../../src/actions/options.js';
import { requiredPermissions, RESPONDERS } from '../../src/actions/registry.js';
import type { PermissionRule } from '../../src/actions/responder.js';
import { silentLogger } from '../../src/core/log.js';
import { opensslOrSkip } from '../support/certs.js';
import { cleanupPki, startKube } from '../support/kube.js';
import { REPO_ROOT } from '../support/shared.js';

const K8S = join(REPO_ROOT, 'deploy', 'kubernetes');

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PermissionRule[];
  roleRef?: { name: string };
  subjects?: { kind: string; name: string; namespace: string }[];
  spec?: Record<string, unknown>;
}

function docs(file: string): Doc[] {
  return parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((d) => d.toJS() as Doc);
}

function rulesOf(file: string): PermissionRule[] {
  return docs(file)
    .filter((d) => d.kind === 'ClusterRole')
    .flatMap((d) => d.rules ?? []);
}

/** One line per group, resource and verb: compares roles however their rules are grouped. */
function grants(rules: readonly PermissionRule[]): string[] {
  return [...new Set(rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g || 'core'}/${res}:${v}`)))))].sort();
}

const base = defaultActionsOptions();

describe('the shipped ClusterRoles', () => {
  it('grant the default responders exactly what they declare', () => {
    // Config validation knows the responders by name without loading them: the two lists agree.
    expect(RESPONDERS.map((d) => d.name)).toEqual([...RESPONDER_NAMES]);
    expect(grants(rulesOf('rbac.yaml'))).toEqual(grants(requiredPermissions(base)));
    expect(grants(rulesOf('rbac.yaml'))).toEqual([
      'core/events:create',
      'core/pods:get',
      'core/pods:list',
      'core/pods:patch',
      'networking.k8s.io/networkpolicies:create',
      'networking.k8s.io/networkpolicies:get',
      'networking.k8s.io/networkpolicies:patch',
    ]);
  });

  it('add for cordon and delete only what those responders declare beyond the base', () => {
    const beyond = (options: typeof base): string[] => grants(requiredPermissions(options)).filter((g) => !grants(requiredPermissions(base)).includes(g));
    expect(grants(rulesOf('rbac-cordon.yaml'))).toEqual(beyond({ ...base, cordon: { enabled: true } }));
    expect(grants(rulesOf('rbac-delete.yaml'))).toEqual(beyond({ ...base, delete: { enabled: true, gracePeriodMs: 30_000 } }));
  });

  it('never touch secrets, never use wildcards, and bind only the lanner service account', () => {
    for (const file of ['rbac.yaml', 'rbac-cordon.yaml', 'rbac-delete.yaml']) {
      const granted = grants(rulesOf(file));
      expect(granted.length, file).toBeGreaterThan(0);
      for (const g of granted) expect(g, file).not.toMatch(/secrets|\*|escalate|bind|impersonate/);
      const bindings = docs(file).filter((d) => d.kind === 'ClusterRoleBinding');
      expect(bindings.length, `${file} binds its ClusterRole`).toBeGreaterThan(0);
      for (const binding of bindings) expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'lanner', namespace: 'lanner' }]);
    }
  });

  it('run the DaemonSet under that account, told its node and namespace', () => {
    const ds = docs('daemonset.yaml').find((d) => d.kind === 'DaemonSet')!;
    const pod = (ds.spec!['template'] as { spec: { serviceAccountName: string; hostPID: boolean; containers: { env: { name: string; valueFrom: unknown }[] }[] } }).spec;
    expect(pod.serviceAccountName).toBe('lanner');
    expect(pod.hostPID).toBe(false);
    const env = Object.fromEntries(pod.containers[0]!.env.map((e) => [e.name, e.valueFrom]));
    expect(env['NODE_NAME']).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    expect(env['POD_NAMESPACE']).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
  });
});

const haveOpenssl = opensslOrSkip('RBAC enforcement tests against the Kubernetes API stand-in');

describe.skipIf(!haveOpenssl)('the base ClusterRole, enforced', () => {
  afterAll(() => cleanupPki());

  it('lets quarantine, event, list and the TTL release through, and forbids a cordon', async () => {
    const k = await startKube({ rbac: rulesOf('rbac.yaml') });
    try {
      k.api.addPod('shop', 'checkout-7f9', { node: 'worker-1' });
      k.api.addNode('worker-1');
      const clock = { now: Date.parse('2026-11-21T09:15:00Z') };
      const audit: string[] = [];
      const options = { ...base, dryRun: false, cordon: { enabled: true } };
      const engine = new ActionEngine(options, { logger: silentLogger(), kube: k.kube, node: 'worker-1', sink: (a) => audit.push(`${a.action?.name}:${a.action?.outcome}:${a.action?.reason}`), now: () => clock.now });
      const target = { kind: 'pod' as const, namespace: 'shop', pod: 'checkout-7f9', node: 'worker-1' };
      await engine.perform({ action: 'quarantine', target, trigger: 'manual' }, false);
      await engine.perform({ action: 'event', target, trigger: 'manual', reason: 'triage' }, false);
      expect((await engine.list()).map((e) => e.pod)).toEqual(['checkout-7f9']);
      clock.now += 25 * 3600_000;
      await engine.sweep();
      await engine.perform({ action: 'cordon', target: { kind: 'node', node: 'worker-1' }, trigger: 'manual' }, false);
      await engine.close();
      expect(audit).toEqual(['quarantine:executed:null', 'event:executed:null', 'release:executed:null', 'cordon:failed:forbidden']);
      const forbidden = k.api.requests.filter((r) => r.path.startsWith('/api/v1/nodes'));
      expect(forbidden.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v1/nodes/worker-1']);
    } finally {
      await k.close();
    }
  });
});
