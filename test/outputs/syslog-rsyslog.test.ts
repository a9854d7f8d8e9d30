/** The syslog output against a real rsyslogd: what rsyslog parsed, not just what was sent. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichAlert } from '../../src/alerts/enrich.js';
import type { Alert } from '../../src/alerts/alert.js';
import { findOutput } from '../../src/outputs/registry.js';
import { shellAlert, T0 } from '../support/alerts.js';
import { testDeps, until } from '../support/output-metrics.js';
import { rsyslogOrSkip, startRsyslog, type Rsyslog } from '../support/rsyslog.js';

const HAVE = rsyslogOrSkip();

describe.runIf(HAVE)('syslog output into a real rsyslogd', () => {
  let rsyslog: Rsyslog;
  beforeAll(async () => {
    rsyslog = await startRsyslog();
  });
  afterAll(async () => {
    await rsyslog?.stop();
  });

  const tricky: Alert = enrichAlert({
    ...shellAlert({ priority: 'Critical', timeNs: T0 }),
    node: 'worker-2',
    cluster: 'prod-eu',
    output: 'Shell spawned: cmd="sh -c \\"id\\"" [pod=checkout]',
    process: { pid: 7400, name: 'sh', cmdline: 'sh -c "echo ]\\ done"', parent: 'runc', user: 'root', uid: 0 },
    dedup_key: 'k1',
  });

  function output(block: Record<string, unknown>) {
    const parsed = findOutput('syslog')!.parse({ type: 'syslog', host: '127.0.0.1', ...block });
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    return parsed.create('syslog', testDeps());
  }

  it('delivers RFC 5424 over TCP with octet counting, parsed field by field, escapes intact', async () => {
    const out = output({ transport: 'tcp', port: rsyslog.tcpPort, app_name: 'lanner' });
    const second = enrichAlert({ ...shellAlert({ timeNs: T0 + 1n, container: 'c2' }), node: 'worker-2' });
    out.send(tricky);
    out.send(second);
    await out.flush();
    await until(() => rsyslog.parsed().length >= 2, 'rsyslog to write two messages');
    const [a, b] = rsyslog.parsed();
    expect(a!.hostname).toBe('worker-2');
    expect(a!.appName).toBe('lanner');
    expect(a!.msgId).toBe('alert');
    expect(a!.msg).toBe('Shell spawned: cmd="sh -c \\"id\\"" [pod=checkout]');
    // rsyslog keeps structured data as sent: our escaping of " \ ] survived its parser.
    expect(a!.structuredData).toContain(`[lanner@32473 id="${tricky.id}" rule="Terminal shell in container" priority="Critical" severity="critical"`);
    expect(a!.structuredData).toContain('dedup_key="k1"');
    expect(a!.structuredData).toContain('[k8s@32473 cluster="prod-eu" namespace="shop"');
    expect(a!.structuredData).toContain('cmdline="sh -c \\"echo \\]\\\\ done\\""');
    expect(a!.structuredData).toContain('[mitre@32473 technique="T1059.004" tactic="TA0002"]');
    expect(a!.structuredData.endsWith(']')).toBe(true);
    // Octet counting kept the two messages apart.
    expect(b!.structuredData).toContain('container_id="c2"');
    await out.close();
  });

  it('delivers over UDP, one datagram per message', async () => {
    const before = rsyslog.parsed().length;
    const out = output({ transport: 'udp', port: rsyslog.udpPort, message: 'cef' });
    out.send(tricky);
    await out.flush();
    await until(() => rsyslog.parsed().length > before, 'rsyslog to write the UDP message');
    const got = rsyslog.parsed()[before]!;
    expect(got.hostname).toBe('worker-2');
    expect(got.msgId).toBe('alert');
    expect(got.msg.startsWith('CEF:0|Lanner|Lanner|')).toBe(true);
    await out.close();
  });
});
