/**
 * The Kubernetes API stand-in over HTTPS, with a kubeconfig that trusts its CA and carries a
 * bearer token, so the responders' client does what it does against a real cluster: TLS
 * verification, token auth, the real REST paths.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientNodeKubeApi, loadKubeConfig } from '../../src/actions/kube.js';
import { KubeApiStandIn, type KubeRbacRule } from '../../src/demo/kube-api-standin.js';
import { makeTestPki, type TestPki } from './certs.js';

export const KUBE_TOKEN = 'test-service-account-token';

export interface KubeFixture {
  readonly api: KubeApiStandIn;
  readonly kubeconfig: string;
  readonly kube: ClientNodeKubeApi;
  close(): Promise<void>;
}

let pki: TestPki | undefined;

/** Shares one PKI per test file: openssl takes a moment per certificate. */
function testPki(): TestPki {
  pki ??= makeTestPki();
  return pki;
}

export async function startKube(options: { rbac?: readonly KubeRbacRule[] } = {}): Promise<KubeFixture> {
  const p = testPki();
  const api = new KubeApiStandIn({ token: KUBE_TOKEN, tls: { cert: p.serverCert, key: p.serverKey }, ...(options.rbac ? { rbac: options.rbac } : {}) });
  const url = await api.start();
  const dir = mkdtempSync(join(tmpdir(), 'lanner-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(url, p.caCert, KUBE_TOKEN));
  const kube = new ClientNodeKubeApi(loadKubeConfig({ kubeconfig })!);
  return {
    api,
    kubeconfig,
    kube,
    close: async () => {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function kubeconfigYaml(server: string, caFile: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: test',
    '    cluster:',
    `      server: ${server}`,
    `      certificate-authority: ${caFile}`,
    'users:',
    '  - name: lanner',
    '    user:',
    `      token: ${token}`,
    'contexts:',
    '  - name: test',
    '    context: { cluster: test, user: lanner }',
    'current-context: test',
    '',
  ].join('\n');
}

export function cleanupPki(): void {
  pki?.cleanup();
  pki = undefined;
}
