/** The syslog output against a real rsyslogd: what rsyslog parsed, not just what was sent. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichAlert } from '../../src/alerts/enrich.js';
import type { Alert } from '../../src/alerts/alert.js';
import { formatSyslog, formatSyslogWithin } from '../../src/alerts/formats/syslog.js';
import { findOutput } from '../../src/outputs/registry.js';
import { TEST_CONTEXT } from './parse-context.js';
import { shellAlert, T0 } from '../support/alerts.js';
import { testDeps, value } from '../support/output-metrics.js';
import { sleep, waitFor } from '../support/wait.js';
import { opensslOrSkip, makeTestPki, type TestPki } from '../support/certs.js';
import { rsyslogOrSkip, rsyslogTlsOrSkip, startRsyslog, type Rsyslog } from '../support/rsyslog.js';

const HAVE = rsyslogOrSkip();
const HAVE_TLS = HAVE && rsyslogTlsOrSkip() && opensslOrSkip('syslog over TLS into rsyslogd');

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
    const parsed = findOutput('syslog')!.parse({ type: 'syslog', host: '127.0.0.1', ...block }, TEST_CONTEXT);
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    return parsed.create('syslog', testDeps());
  }

  it('delivers RFC 5424 over TCP with octet counting, parsed field by field, escapes intact', async () => {
    const before = rsyslog.parsed().length;
    const out = output({ transport: 'tcp', port: rsyslog.tcpPort, app_name: 'lanner' });
    const second = enrichAlert({ ...shellAlert({ timeNs: T0 + 1n, container: 'c2' }), node: 'worker-2' });
    out.send(tricky);
    out.send(second);
    await out.flush();
    await waitFor(() => rsyslog.parsed().length >= before + 2, { what: 'rsyslog to write two messages' });
    const [a, b] = rsyslog.parsed().slice(before);
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

  // A forged event's strings, aimed at a receiver that splits on newlines and at the SD parser.
  const forgedLine = 'ok\r\n<13>1 2025-01-01T00:00:00Z evil app - - - forged second message\nthird\u2028fourth\u001e\u0000';
  const hostile: Alert = enrichAlert({
    ...shellAlert({ priority: 'Critical', timeNs: T0 }),
    node: 'worker-2',
    rule: `rule]"\\ ${forgedLine}`,
    output: forgedLine,
    process: { pid: 7400, name: 'sh', cmdline: `sh -c "x]" \\ ${forgedLine}`, parent: 'runc', user: 'root', uid: 0 },
  });

  it.each(['tcp', 'udp'] as const)('stores a message with forged CR/LF lines as one message, over %s', async (transport) => {
    const before = rsyslog.parsed().length;
    const out = output({ transport, port: transport === 'tcp' ? rsyslog.tcpPort : rsyslog.udpPort });
    out.send(hostile);
    out.send(enrichAlert({ ...shellAlert({ timeNs: T0 + 1n, container: `after-${transport}` }), node: 'worker-2' }));
    await out.flush();
    await waitFor(() => rsyslog.parsed().length >= before + 2, { what: 'rsyslog to write both messages' });
    // A sleep, as nothing is to happen: a forged third record would show up within this time.
    await sleep(300);
    const got = rsyslog.parsed().slice(before);
    expect(got).toHaveLength(2);
    const [a, b] = got;
    const oneLine = 'ok <13>1 2025-01-01T00:00:00Z evil app - - - forged second message third fourth\ufffd\ufffd';
    expect(a!.msg).toBe(oneLine);
    expect(a!.msgId).toBe('alert');
    // rsyslog's SD parser took our escaping: the structured data is exactly what we wrote.
    const sd = formatSyslog(hostile, { facility: 'local0', appName: 'lanner', enterpriseId: 32473, message: 'output' });
    expect(a!.structuredData).toBe(sd.slice(sd.indexOf(' [lanner@') + 1, sd.lastIndexOf('] ') + 1));
    expect(a!.structuredData).toContain(`rule="rule\\]\\"\\\\ ${oneLine}"`);
    expect(b!.structuredData).toContain(`container_id="after-${transport}"`);
    await out.close();
  });

  it('delivers a 100 KB alert over UDP truncated to rsyslog’s own limit, as one message', async () => {
    const before = rsyslog.parsed().length;
    const out = output({ transport: 'udp', port: rsyslog.udpPort });
    const huge = enrichAlert({ ...shellAlert({ timeNs: T0 }), node: 'worker-2', output: 'y'.repeat(100 * 1024) });
    out.send(huge);
    await out.flush();
    await waitFor(() => rsyslog.parsed().length > before, { what: 'rsyslog to write the truncated message' });
    const got = rsyslog.parsed()[before]!;
    const sent = formatSyslogWithin(huge, { facility: 'local0', appName: 'lanner', enterpriseId: 32473, message: 'output' }, 8096).bytes.toString('utf8');
    // rsyslog kept all of it: what we cut was already within its limit.
    expect(got.msg).toBe(sent.slice(sent.lastIndexOf('] ') + 2));
    expect(got.msg.length).toBeGreaterThan(7000);
    expect(got.structuredData).toContain(`id="${huge.id}"`);
    await out.close();
  });

  it('delivers over UDP, one datagram per message', async () => {
    const before = rsyslog.parsed().length;
    const out = output({ transport: 'udp', port: rsyslog.udpPort, message: 'cef' });
    out.send(tricky);
    await out.flush();
    await waitFor(() => rsyslog.parsed().length > before, { what: 'rsyslog to write the UDP message' });
    const got = rsyslog.parsed()[before]!;
    expect(got.hostname).toBe('worker-2');
    expect(got.msgId).toBe('alert');
    expect(got.msg.startsWith('CEF:0|Lanner|Lanner|')).toBe(true);
    await out.close();
  });
});

describe.runIf(HAVE_TLS)('syslog output over TLS into a real rsyslogd (gtls, client certificates required)', () => {
  let pki: TestPki;
  let rsyslog: Rsyslog;
  beforeAll(async () => {
    pki = makeTestPki();
    rsyslog = await startRsyslog({ tls: { ca: pki.caCert, cert: pki.serverCert, key: pki.serverKey } });
  });
  afterAll(async () => {
    await rsyslog?.stop();
    pki?.cleanup();
  });

  function output(name: string, tls: Record<string, unknown>, deps = testDeps()) {
    const parsed = findOutput('syslog')!.parse(
      {
        type: 'syslog',
        transport: 'tls',
        host: '127.0.0.1',
        port: rsyslog.tlsPort,
        app_name: 'lanner-tls',
        tls,
        retry: { max_retries: 2, initial_backoff: '5ms', max_backoff: '10ms' },
      },
      TEST_CONTEXT,
    );
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    return { out: parsed.create(name, deps), deps };
  }

  it('delivers RFC 5424 over TLS with octet counting to a receiver that checked our certificate, parsed field by field', async () => {
    const before = rsyslog.parsed().length;
    const { out, deps } = output('siem-tls', { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey });
    const alert = enrichAlert({ ...shellAlert({ priority: 'Critical', timeNs: T0 }), node: 'worker-3', cluster: 'prod-eu', dedup_key: 'k-tls' });
    const second = enrichAlert({ ...shellAlert({ timeNs: T0 + 1n, container: 'c-tls-2' }), node: 'worker-3' });
    out.send(alert);
    out.send(second);
    await out.flush();
    await waitFor(() => rsyslog.parsed().length >= before + 2, { what: 'rsyslog to write two messages received over TLS' });
    const [a, b] = rsyslog.parsed().slice(before);
    expect(a!.hostname).toBe('worker-3');
    expect(a!.appName).toBe('lanner-tls');
    expect(a!.msgId).toBe('alert');
    expect(a!.msg).toBe(alert.output);
    expect(a!.structuredData).toContain(`[lanner@32473 id="${alert.id}" rule="Terminal shell in container" priority="Critical" severity="critical"`);
    expect(a!.structuredData).toContain('dedup_key="k-tls"');
    expect(a!.structuredData).toContain('[k8s@32473 cluster="prod-eu" namespace="shop"');
    expect(b!.structuredData).toContain('container_id="c-tls-2"');
    expect(await value(deps.metrics.outputSent, { output: 'siem-tls' })).toBe(2);
    await out.close();
  });

  it('notices a receiver refusing its client certificate after a TLS 1.3 handshake: counted as failed and dropped, not as sent', async () => {
    const before = rsyslog.parsed().length;
    const { out, deps } = output('refused', { ca: pki.caCert, cert: pki.rogueClientCert, key: pki.rogueClientKey });
    out.send(enrichAlert(shellAlert({ container: 'refused-1' })));
    await out.flush();
    expect(await value(deps.metrics.outputSent, { output: 'refused' })).toBe(0);
    expect(await value(deps.metrics.outputFailures, { output: 'refused', reason: 'tls' })).toBe(3);
    expect(await value(deps.metrics.outputDropped, { output: 'refused', reason: 'retries_exhausted' })).toBe(1);
    expect(rsyslog.parsed()).toHaveLength(before);
    await out.close();
  });

  it('does not send to a receiver whose certificate it cannot verify: the attempts fail and the alert is counted as dropped', async () => {
    const before = rsyslog.parsed().length;
    const { out, deps } = output('untrusted', { ca: pki.rogueCaCert, cert: pki.clientCert, key: pki.clientKey });
    out.send(enrichAlert(shellAlert({ container: 'never' })));
    await out.flush();
    expect(await value(deps.metrics.outputSent, { output: 'untrusted' })).toBe(0);
    expect(await value(deps.metrics.outputFailures, { output: 'untrusted', reason: 'tls' })).toBe(3);
    expect(await value(deps.metrics.outputDropped, { output: 'untrusted', reason: 'retries_exhausted' })).toBe(1);
    expect(rsyslog.parsed()).toHaveLength(before);
    await out.close();
  });
});
