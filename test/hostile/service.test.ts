/**
 * Hostile input against the real service binary, as an attacker who owns one container could
 * send it: forged events posted to the ingest, and a service whose security settings cannot be
 * honoured. The service must keep running and alerting, or refuse to start with the reason.
 */
import { connect, createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringifyExact } from '../../src/core/exact-json.js';
import { assertBuilt, lanner, startLanner, waitForLog } from '../support/cli.js';
import { falcoJson } from '../support/events.js';
import { waitFor } from '../support/wait.js';

beforeAll(assertBuilt);

const running: ChildProcessWithoutNullStreams[] = [];
const folders: string[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** Names that reach a plain object's prototype when used as keys. */
const PROTOTYPE_KEYS = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', '__defineGetter__'];

function tempFile(name: string, text: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'lanner-hostile-'));
  folders.push(folder);
  const file = join(folder, name);
  writeFileSync(file, text);
  return file;
}

async function startService(configText = ''): Promise<{ child: ChildProcessWithoutNullStreams; ingest: string; ops: string; alerts: () => Record<string, unknown>[] }> {
  const config = tempFile('lanner.yaml', configText);
  const child = startLanner(['run', '--config', config, '--ingest-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0']);
  running.push(child);
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  const [ops, ingest] = await Promise.all([
    waitForLog(child, (e) => e['msg'] === 'serving /metrics, /healthz, /readyz'),
    waitForLog(child, (e) => e['msg'] === 'receiving Falco http_output'),
  ]);
  const alerts = (): Record<string, unknown>[] =>
    text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, ingest: String(ingest['url']), ops: `http://${String(ops['address'])}`, alerts };
}

const post = (url: string, events: readonly Record<string, unknown>[]): Promise<Response> =>
  fetch(url, { method: 'POST', body: events.map((e) => stringifyExact(e)).join('\n') + '\n' });

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

describe('hostile input against lanner run', () => {
  it('keeps running and alerting when rule names, tags and fields are prototype keys', async () => {
    // Actions configured by rule name: the lookup an attacker's rule name reaches first.
    const service = await startService('actions:\n  rules:\n    Terminal shell in container: [event]\n');
    const events = PROTOTYPE_KEYS.map((key, i) =>
      falcoJson({ rule: key, tags: [key], timeNs: nowNs() + BigInt(i), fields: { [key]: key, 'container.id': key, 'k8s.ns.name': key } }),
    );
    const answer = await post(service.ingest, events);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ accepted: PROTOTYPE_KEYS.length });
    const rules = await waitFor(() => {
      const seen = new Set(service.alerts().map((a) => a['rule']));
      return PROTOTYPE_KEYS.every((k) => seen.has(k)) ? seen : undefined;
    }, { what: 'an alert for every forged rule name' });
    expect(rules.size).toBeGreaterThanOrEqual(PROTOTYPE_KEYS.length);
    expect(service.child.exitCode).toBeNull();
    expect((await fetch(`${service.ops}/healthz`)).status).toBe(200);
  });

  it('still raises the real alert after a forged event from the far future', async () => {
    const service = await startService();
    const fields = { 'container.id': 'c0ffee000001', 'k8s.ns.name': 'shop', 'k8s.pod.name': 'checkout-1', 'proc.cmdline': 'sh -i' };
    const forged = falcoJson({ rule: 'Terminal shell in container', timeNs: nowNs() + 10n * 365n * 86_400n * 1_000_000_000n, fields });
    // Refused as invalid, not shed: a sender told "shed" (503) would retry it for ever.
    const refused = await post(service.ingest, [forged]);
    expect(refused.status).toBe(400);
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(await refused.json()).toMatchObject({ error: 'time_in_future', accepted: 0, shed: 0, invalid: 1 });
    // In a batch, it is refused on its own and the rest is taken.
    const benign = falcoJson({ rule: 'Some benign rule', timeNs: nowNs(), fields: { 'container.id': 'c0ffee000002' } });
    const mixed = await post(service.ingest, [benign, forged]);
    expect(mixed.status).toBe(200);
    expect(await mixed.json()).toMatchObject({ accepted: 1, shed: 0, invalid: 1, refused: [{ line: 2, reason: 'time_in_future' }] });
    const real = falcoJson({ rule: 'Terminal shell in container', timeNs: nowNs(), fields, output: 'the real shell' });
    expect((await post(service.ingest, [real])).status).toBe(200);
    await waitFor(() => service.alerts().some((a) => a['output'] === 'the real shell'), { what: 'the real alert after the forged one' });
  });

  it('refuses to start when a token file is empty, naming the file', async () => {
    const token = tempFile('token', '\n');
    const config = tempFile('lanner.yaml', `ingest:\n  http:\n    token_file: ${token}\n`);
    const r = await lanner(['run', '--config', config, '--ingest-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('LANNER_CONFIG_INVALID');
    expect(r.stderr).toContain(`${token} is empty`);
  });

  it('exits non-zero with the reason when its ingest port is taken, rather than running unready', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const r = await lanner(['run', '--ingest-listen', `127.0.0.1:${port}`, '--metrics-listen', '127.0.0.1:0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('LANNER_LISTEN');
      expect(r.stderr).toContain(`127.0.0.1:${port}`);
    } finally {
      taken.close();
    }
  });

  it('exits non-zero when a TLS file it was given is missing', async () => {
    const config = tempFile('lanner.yaml', 'ingest:\n  http:\n    tls:\n      cert: /no/such/cert.pem\n      key: /no/such/key.pem\n');
    const r = await lanner(['run', '--config', config, '--ingest-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0']);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain('/no/such/cert.pem');
  });

  it('holds operations-port clients to the limits its config sets, and counts each connection it drops', async () => {
    const service = await startService('server:\n  header_timeout: 300ms\n');
    const dropped = async (server: string, reason: string): Promise<number | undefined> => {
      const text = await (await fetch(`${service.ops}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`lanner_http_connections_dropped_total{server="${server}",reason="${reason}"}`));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    };
    // Every pair is there from the start, at 0, for increase() to see the first drop.
    expect(await dropped('ops', 'header_timeout')).toBe(0);
    expect(await dropped('ingest', 'header_timeout')).toBe(0);
    const { hostname, port } = new URL(service.ops);
    const slow = connect(Number(port), hostname);
    slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    let answer = '';
    slow.on('data', (d: Buffer) => (answer += d.toString()));
    // Closed well before the default 5s could have closed it: the configured limit is in force.
    const closed = await Promise.race([
      new Promise<string>((resolve) => slow.once('close', () => resolve('closed'))),
      new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 3_000).unref()),
    ]);
    slow.destroy();
    expect(closed).toBe('closed');
    expect(answer).toBe('');
    expect(await dropped('ops', 'header_timeout')).toBe(1);
    // The ingest keeps its own default (5s): its count is the ingest's alone.
    expect(await dropped('ingest', 'header_timeout')).toBe(0);
  });
});
