/**
 * The HTTP outputs against stand-ins that follow each real API: Splunk HEC, Elasticsearch
 * `_bulk`, Loki push and a webhook receiver that verifies the HMAC.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { enrichAlert } from '../../src/alerts/enrich.js';
import { optionRows } from '../../src/core/plugin.js';
import { findOutput } from '../../src/outputs/registry.js';
import { TEST_CONTEXT } from './parse-context.js';
import { SECOND, shellAlert, T0 } from '../support/alerts.js';
import { makeTestPki, opensslOrSkip, type TestPki } from '../support/certs.js';
import { startStandin, type Standin } from '../support/http-standin.js';
import { testDeps, value } from '../support/output-metrics.js';
import { closeAfterEach } from '../support/close-after.js';

const held = closeAfterEach();

async function standin(handler: Standin['handler']): Promise<Standin> {
  const s = await startStandin(handler);
  held.servers.push(s);
  return s;
}

function build(block: Record<string, unknown>) {
  const d = findOutput(String(block['type']));
  if (!d) throw new Error('unknown type');
  const parsed = d.parse(block, TEST_CONTEXT);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const deps = testDeps();
  const output = parsed.create(String(block['name'] ?? block['type']), deps);
  held.outputs.push(output);
  const m = deps.metrics;
  const name = String(block['name'] ?? block['type']);
  return {
    output,
    sent: () => value(m.outputSent, { output: name }),
    dropped: (reason: string) => value(m.outputDropped, { output: name, reason }),
    failures: (reason: string) => value(m.outputFailures, { output: name, reason }),
  };
}

const alerts = (n: number, start = 0): Alert[] =>
  Array.from({ length: n }, (_, i) => enrichAlert({ ...shellAlert({ timeNs: T0 + BigInt(start + i) * SECOND, container: `c${start + i}` }), node: 'worker-2', cluster: 'prod' }));

const FAST_RETRY = { max_retries: 3, initial_backoff: '1ms', max_backoff: '5ms' };

describe('Splunk HEC', () => {
  it('posts batched event envelopes with the token, time, host, source, sourcetype and index', async () => {
    const hec = await standin(() => ({ status: 200, body: '{"text":"Success","code":0}' }));
    const { output, sent } = build({ type: 'splunk_hec', url: hec.url, token: 'tok-123', index: 'security', batch: { max_size: 2 } });
    for (const a of alerts(3)) output.send(a);
    await output.flush();
    expect(hec.requests).toHaveLength(2);
    const req = hec.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/services/collector/event');
    expect(req.headers['authorization']).toBe('Splunk tok-123');
    // HEC's batch form: event objects back to back, not a JSON array.
    const events = req.body.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ host: 'worker-2', source: 'lanner', sourcetype: 'lanner:alert', index: 'security', event: { rule: 'Terminal shell in container' } });
    expect(req.body).toContain(`"time":${T0 / 1_000_000_000n}.000000,`);
    expect(await sent()).toBe(3);
  });

  it('retries server-busy (code 9) and refuses a bad token for good', async () => {
    let calls = 0;
    const hec = await standin(() => (++calls === 1 ? { status: 503, body: '{"text":"Server is busy","code":9}' } : { status: 200, body: '{"text":"Success","code":0}' }));
    const a = build({ type: 'splunk_hec', name: 'busy', url: hec.url, token: 't', retry: FAST_RETRY });
    a.output.send(alerts(1)[0]!);
    await a.output.flush();
    expect(await a.failures('hec_busy')).toBe(1);
    expect(await a.sent()).toBe(1);

    const bad = await standin(() => ({ status: 403, body: '{"text":"Invalid token","code":4}' }));
    const b = build({ type: 'splunk_hec', name: 'bad', url: bad.url, token: 'wrong', retry: FAST_RETRY });
    b.output.send(alerts(1)[0]!);
    await b.output.flush();
    expect(bad.requests).toHaveLength(1);
    expect(await b.failures('hec_code_4')).toBe(1);
    expect(await b.dropped('rejected')).toBe(1);
  });
});

describe('Elasticsearch _bulk', () => {
  it('sends ECS documents as NDJSON index actions with the alert id, and handles per-item errors', async () => {
    let call = 0;
    const es = await standin((req) => {
      call++;
      const lines = req.body.trimEnd().split('\n');
      const items = [];
      for (let i = 0; i < lines.length; i += 2) {
        const id = (JSON.parse(lines[i]!) as { index: { _id: string } }).index._id;
        const n = i / 2;
        // First call: item 1 hits back-pressure, item 2 a mapping error; the retry succeeds.
        if (call === 1 && n === 1) items.push({ index: { _index: 'lanner-alerts', _id: id, status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } });
        else if (call === 1 && n === 2) items.push({ index: { _index: 'lanner-alerts', _id: id, status: 400, error: { type: 'document_parsing_exception', reason: 'failed to parse field' } } });
        else items.push({ index: { _index: 'lanner-alerts', _id: id, status: 201, result: 'created' } });
      }
      return { status: 200, body: JSON.stringify({ took: 3, errors: items.some((i) => i.index.status >= 300), items }) };
    });
    const sample = alerts(3);
    const { output, sent, dropped } = build({ type: 'elasticsearch', url: es.url, index: 'lanner-alerts', api_key: 'k3y', retry: FAST_RETRY });
    for (const a of sample) output.send(a);
    await output.flush();
    const first = es.requests[0]!;
    expect(first.path).toBe('/_bulk');
    expect(first.headers['content-type']).toBe('application/x-ndjson');
    expect(first.headers['authorization']).toBe('ApiKey k3y');
    expect(first.body.endsWith('\n')).toBe(true);
    const lines = first.body.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(JSON.parse(lines[0]!)).toEqual({ index: { _index: 'lanner-alerts', _id: sample[0]!.id } });
    expect(JSON.parse(lines[1]!)).toMatchObject({ 'event': { kind: 'alert' }, rule: { name: 'Terminal shell in container' }, container: { id: 'c0' } });
    // Only the 429 item was sent again.
    expect(es.requests).toHaveLength(2);
    expect(JSON.parse(es.requests[1]!.body.split('\n')[0]!)).toEqual({ index: { _index: 'lanner-alerts', _id: sample[1]!.id } });
    expect(await sent()).toBe(2);
    expect(await dropped('mapping_error')).toBe(1);
  });

  it('writes into a data stream with create actions and counts a 409 on retry as delivered', async () => {
    const es = await standin((req) => {
      const id = (JSON.parse(req.body.split('\n')[0]!) as { create: { _id: string } }).create._id;
      return { status: 200, body: JSON.stringify({ errors: true, items: [{ create: { _id: id, status: 409, error: { type: 'version_conflict_engine_exception' } } }] }) };
    });
    const { output, sent } = build({ type: 'elasticsearch', url: es.url, data_stream: 'logs-lanner.alert-default' });
    output.send(alerts(1)[0]!);
    await output.flush();
    expect(JSON.parse(es.requests[0]!.body.split('\n')[0]!)).toMatchObject({ create: { _index: 'logs-lanner.alert-default' } });
    expect(await sent()).toBe(1);
  });
});

describe('Loki push', () => {
  it('pushes streams with low-cardinality labels and nanosecond string timestamps; 204 is success', async () => {
    const stored: { stream: Record<string, string>; values: [string, string][] }[] = [];
    const loki = await standin((req) => {
      if (req.path !== '/loki/api/v1/push' || req.headers['content-type'] !== 'application/json') return { status: 404 };
      const body = JSON.parse(req.body) as { streams?: typeof stored };
      if (!Array.isArray(body.streams)) return { status: 400, body: 'error parsing push request' };
      stored.push(...body.streams);
      return { status: 204 };
    });
    const { output, sent } = build({ type: 'loki', url: loki.url, labels: ['priority', 'rule', 'namespace'], tenant: 'soc' });
    const sample = [...alerts(2), enrichAlert(shellAlert({ priority: 'Critical', timeNs: T0 - SECOND }))];
    for (const a of sample) output.send(a);
    await output.flush();
    expect(loki.requests[0]!.headers['x-scope-orgid']).toBe('soc');
    expect(stored).toHaveLength(2);
    const notice = stored.find((s) => s.stream['priority'] === 'Notice')!;
    expect(notice.stream).toEqual({ job: 'lanner', priority: 'Notice', rule: 'Terminal shell in container', namespace: 'shop' });
    expect(notice.values.map((v) => v[0])).toEqual([T0.toString(), (T0 + SECOND).toString()]);
    expect(JSON.parse(notice.values[0]![1])).toMatchObject({ id: sample[0]!.id });
    // No per-alert facts (pod, container, id) ever become labels.
    for (const s of stored) expect(Object.keys(s.stream).sort()).toEqual(['job', 'namespace', 'priority', 'rule']);
    expect(await sent()).toBe(3);
  });

  it('retries 429 back-pressure and gives up on a 400', async () => {
    let calls = 0;
    const loki = await standin(() => (++calls === 1 ? { status: 429, body: 'Ingestion rate limit exceeded', headers: { 'retry-after': '0' } } : { status: 204 }));
    const a = build({ type: 'loki', name: 'l1', url: loki.url, retry: FAST_RETRY });
    a.output.send(alerts(1)[0]!);
    await a.output.flush();
    expect(await a.failures('http_429')).toBe(1);
    expect(await a.sent()).toBe(1);

    const old = await standin(() => ({ status: 400, body: 'entry too far behind' }));
    const b = build({ type: 'loki', name: 'l2', url: old.url, retry: FAST_RETRY });
    b.output.send(alerts(1)[0]!);
    await b.output.flush();
    expect(old.requests).toHaveLength(1);
    expect(await b.dropped('rejected')).toBe(1);
  });

  it('refuses high-cardinality labels in config', () => {
    const parsed = findOutput('loki')!.parse({ type: 'loki', url: 'http://x:3100', labels: ['pod'] }, TEST_CONTEXT);
    expect(parsed.ok).toBe(false);
  });
});

describe('webhook', () => {
  it('posts a JSON array per batch with custom headers and an HMAC-SHA256 the receiver verifies', async () => {
    const secret = 's3cret';
    const verified: boolean[] = [];
    const hook = await standin((req) => {
      const sig = String(req.headers['x-lanner-signature'] ?? '');
      const want = `sha256=${createHmac('sha256', secret).update(req.body).digest('hex')}`;
      const ok = sig.length === want.length && timingSafeEqual(Buffer.from(sig), Buffer.from(want));
      verified.push(ok);
      return ok ? { status: 202 } : { status: 401 };
    });
    const { output, sent } = build({ type: 'webhook', url: `${hook.url}/hooks/lanner`, secret, headers: { 'X-Team': 'secops' }, format: 'ocsf', batch: { max_size: 5 } });
    for (const a of alerts(3)) output.send(a);
    await output.flush();
    expect(verified).toEqual([true]);
    const req = hook.requests[0]!;
    expect(req.path).toBe('/hooks/lanner');
    expect(req.headers['x-team']).toBe('secops');
    const body = JSON.parse(req.body) as Record<string, unknown>[];
    expect(body).toHaveLength(3);
    expect(body[0]).toMatchObject({ class_uid: 2004, finding_info: { title: 'Terminal shell in container' } });
    expect(await sent()).toBe(3);
  });

  it('without batch keys, posts batches of the batch.max_size its options document', async () => {
    const documented = Number(optionRows(findOutput('webhook')!.options).find((r) => r.key === 'batch.max_size')?.default);
    expect(documented).toBeGreaterThan(1);
    const hook = await standin(() => ({ status: 200 }));
    const { output } = build({ type: 'webhook', url: hook.url });
    for (const a of alerts(2 * documented + 1)) output.send(a);
    await output.flush();
    expect(hook.requests.map((r) => (JSON.parse(r.body) as unknown[]).length)).toEqual([documented, documented, 1]);
  });

  it('a receiver with another secret refuses: the alert is counted, not lost silently', async () => {
    const hook = await standin((req) => {
      const want = `sha256=${createHmac('sha256', 'other').update(req.body).digest('hex')}`;
      return req.headers['x-lanner-signature'] === want ? { status: 200 } : { status: 401 };
    });
    const { output, dropped, failures } = build({ type: 'webhook', url: hook.url, secret: 'mine' });
    output.send(alerts(1)[0]!);
    await output.flush();
    expect(await failures('http_401')).toBe(1);
    expect(await dropped('rejected')).toBe(1);
  });
});

describe('webhook over TLS', () => {
  const haveOpenssl = opensslOrSkip('webhook TLS tests');
  let pki: TestPki | undefined;
  let server: https.Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? (server.closeAllConnections(), server.close(() => resolve())) : resolve()));
    server = undefined;
    pki?.cleanup();
    pki = undefined;
  });

  /** A real HTTPS receiver that requires a client certificate of our CA and checks the HMAC. */
  async function receiver(p: TestPki, secret: string): Promise<{ url: string; got: { client: string; verified: boolean; count: number }[] }> {
    const got: { client: string; verified: boolean; count: number }[] = [];
    server = https.createServer({ cert: readFileSync(p.serverCert), key: readFileSync(p.serverKey), ca: readFileSync(p.caCert), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const want = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
        const sig = String(req.headers['x-lanner-signature'] ?? '');
        const verified = sig.length === want.length && timingSafeEqual(Buffer.from(sig), Buffer.from(want));
        const client = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
        got.push({ client, verified, count: (JSON.parse(body.toString('utf8')) as unknown[]).length });
        res.writeHead(verified ? 200 : 401).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `https://127.0.0.1:${(server!.address() as AddressInfo).port}/hooks/lanner`, got };
  }

  it.skipIf(!haveOpenssl)('posts signed batches over mutual TLS to a receiver that checks our certificate and the HMAC', async () => {
    pki = makeTestPki();
    const hook = await receiver(pki, 'tls-secret');
    const { output, sent } = build({ type: 'webhook', url: hook.url, secret: 'tls-secret', tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey }, batch: { max_size: 10 } });
    for (const a of alerts(4)) output.send(a);
    await output.flush();
    expect(hook.got).toEqual([{ client: 'lanner', verified: true, count: 4 }]);
    expect(await sent()).toBe(4);
  });

  it.skipIf(!haveOpenssl)('sends nothing to a receiver it cannot verify, or that refuses its certificate: failures are counted as tls, then the alerts as dropped', async () => {
    pki = makeTestPki();
    const hook = await receiver(pki, 'tls-secret');
    const untrusted = build({ type: 'webhook', name: 'untrusted', url: hook.url, secret: 'tls-secret', tls: { ca: pki.rogueCaCert, cert: pki.clientCert, key: pki.clientKey }, retry: FAST_RETRY });
    const refused = build({ type: 'webhook', name: 'refused', url: hook.url, secret: 'tls-secret', tls: { ca: pki.caCert, cert: pki.rogueClientCert, key: pki.rogueClientKey }, retry: FAST_RETRY });
    untrusted.output.send(alerts(1)[0]!);
    refused.output.send(alerts(1)[0]!);
    await Promise.all([untrusted.output.flush(), refused.output.flush()]);
    expect(hook.got).toEqual([]);
    expect(await untrusted.failures('tls')).toBe(4);
    expect(await untrusted.dropped('retries_exhausted')).toBe(1);
    // The receiver's refusal of our certificate reaches us as a reset after the TLS 1.3
    // handshake: retried as a network failure, then dropped, never counted as sent.
    expect(await refused.failures('network')).toBe(4);
    expect(await refused.sent()).toBe(0);
    expect(await refused.dropped('retries_exhausted')).toBe(1);
  });
});

describe('routing', () => {
  it('sends only alerts at or above min_priority that match the route', async () => {
    const hook = await standin(() => ({ status: 200 }));
    const { output } = build({ type: 'webhook', url: hook.url, min_priority: 'Warning', route: { namespaces: ['shop'], tags: ['shell'] } });
    output.send(enrichAlert(shellAlert({ priority: 'Notice' })));
    output.send(enrichAlert(shellAlert({ priority: 'Critical', namespace: 'ops' })));
    output.send(enrichAlert(shellAlert({ priority: 'Critical', tags: ['network'] })));
    const wanted = enrichAlert(shellAlert({ priority: 'Error' }));
    output.send(wanted);
    await output.flush();
    const ids = hook.requests.flatMap((r) => (JSON.parse(r.body) as { id: string }[]).map((a) => a.id));
    expect(ids).toEqual([wanted.id]);
  });

  describe('with a condition, compiled by the compiler the parse context gives', () => {
    it('sends only the alerts the condition matches', async () => {
      const hook = await standin(() => ({ status: 200 }));
      const { output } = build({ type: 'webhook', url: hook.url, route: { condition: 'k8s.ns.name = payments' } });
      const wanted = enrichAlert(shellAlert({ namespace: 'payments' }));
      output.send(enrichAlert(shellAlert({ namespace: 'ops' })));
      output.send(enrichAlert(shellAlert({ namespace: 'shop' })));
      output.send(wanted);
      await output.flush();
      const ids = hook.requests.flatMap((r) => (JSON.parse(r.body) as { id: string }[]).map((a) => a.id));
      expect(ids).toEqual([wanted.id]);
    });

    it('refuses a route condition that does not compile, naming the key', () => {
      const parsed = findOutput('webhook')!.parse({ type: 'webhook', url: 'https://x', route: { condition: 'k8s.ns.name = = shop' } }, TEST_CONTEXT);
      expect(parsed).toEqual({ ok: false, problems: ['route.condition: cannot compile "k8s.ns.name = = shop"'] });
    });
  });
});
