import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonExact, stringifyExact } from '../../src/core/exact-json.js';
import { FalcoStandIn, falcoJsonToGrpcResponse, type FalcoJsonEvent } from '../../src/demo/falco-grpc-server.js';
import { assertBuilt, startLanner, waitForLog } from '../support/cli.js';
import { falcoJson } from '../support/events.js';
import { waitFor } from '../support/wait.js';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

beforeAll(assertBuilt);

const running: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

function stdoutLines(child: ChildProcessWithoutNullStreams): () => string[] {
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  return () => text.split('\n').filter((l) => l !== '');
}

async function metricsText(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`)).text();
}

describe('lanner run', () => {
  it('takes Falco http_output posts, writes alerts to stdout, serves metrics and probes, and stops cleanly on SIGTERM', async () => {
    const child = startLanner(['run', '--ingest-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'], { NODE_NAME: 'worker-7', LANNER_CLUSTER: 'prod-eu' });
    running.push(child);
    const lines = stdoutLines(child);
    const [ops, ingest] = await Promise.all([
      waitForLog(child, (e) => e['msg'] === 'serving /metrics, /healthz, /readyz'),
      waitForLog(child, (e) => e['msg'] === 'receiving Falco http_output'),
    ]);
    const base = `http://${String(ops['address'])}`;
    const ingestUrl = String(ingest['url']);

    const event = falcoJson({ rule: 'Terminal shell in container', priority: 'Notice', fields: { 'k8s.ns.name': 'shop', 'k8s.pod.name': 'checkout-1' } });
    const feed = falcoJson({ rule: 'Lanner feed: execve', priority: 'Debug', tags: ['lanner_feed'] });
    const posted = await fetch(ingestUrl, { method: 'POST', body: `${stringifyExact(event)}\n${stringifyExact(feed)}\n`, headers: { 'content-type': 'application/json' } });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toMatchObject({ accepted: 2 });
    expect((await fetch(ingestUrl, { method: 'POST', body: '{"rule":' })).status).toBe(400);

    const alertLines = await waitFor(() => (lines().length >= 1 ? lines() : undefined), { what: 'the alert on stdout', intervalMs: 20 });
    const alert = parseJsonExact(alertLines[0]!) as Record<string, unknown>;
    expect(alert).toMatchObject({ rule: 'Terminal shell in container', origin: 'falco', node: 'worker-7', cluster: 'prod-eu', time: '2025-11-24T13:24:56.428114287Z', workload: { namespace: 'shop', pod: 'checkout-1' } });

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await metricsText(base);
    expect(metrics).toContain('lanner_events_received_total{transport="http",source="syscall"} 2');
    expect(metrics).toContain('lanner_events_invalid_total{reason="bad_json"} 1');
    expect(metrics).toContain('lanner_alerts_total{rule="Terminal shell in container",priority="Notice",family="falco"} 1');
    expect(metrics).toContain('lanner_http_ingest_requests_total{status="400"} 1');
    expect(metrics).toMatch(/lanner_build_info\{version="[^"]+",node_version="v20/);
    expect(metrics).toContain('process_cpu_seconds_total');

    const stopped = waitForLog(child, (e) => e['msg'] === 'lanner stopped');
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    // Within the shutdown grace: drained and flushed, not cut off.
    expect(await stopped).toMatchObject({ outcome: 'clean' });
    // The one alert was written once, and nothing after.
    expect(lines()).toHaveLength(1);
  });

  it('follows Falco over gRPC, is ready only while connected, and survives Falco going away', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanner-run-'));
    const address = `unix://${join(dir, 'falco.sock')}`;
    let falco = new FalcoStandIn({ address, version: '0.42.1' });
    await falco.start();
    try {
      const child = startLanner(['run', '--falco-grpc', address, '--metrics-listen', '127.0.0.1:0'], { LANNER_FALCO_GRPC_POLL_INTERVAL: '50ms', LANNER_FALCO_GRPC_BACKOFF_INITIAL: '50ms' });
      running.push(child);
      const lines = stdoutLines(child);
      const ops = await waitForLog(child, (e) => e['msg'] === 'serving /metrics, /healthz, /readyz');
      const base = `http://${String(ops['address'])}`;
      const connected = await waitForLog(child, (e) => e['msg'] === 'connected to Falco');
      expect(connected['falcoVersion']).toBe('0.42.1');
      expect((await fetch(`${base}/readyz`)).status).toBe(200);

      falco.publish(falcoJsonToGrpcResponse(falcoJson({ rule: 'Read sensitive file untrusted', priority: 'Warning' }) as FalcoJsonEvent));
      await waitFor(() => lines().length === 1, { what: 'the first alert on stdout', intervalMs: 20 });

      await falco.stop();
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 503, { what: '/readyz to answer 503', intervalMs: 20 });
      const down = await fetch(`${base}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.text()).toContain('not connected to Falco');
      expect(child.exitCode).toBeNull();

      falco = new FalcoStandIn({ address, version: '0.42.1' });
      await falco.start();
      falco.publish(falcoJsonToGrpcResponse(falcoJson({ rule: 'Write below binary dir', priority: 'Error' }) as FalcoJsonEvent));
      await waitFor(() => lines().length === 2, { what: 'the second alert on stdout', intervalMs: 20 });
      expect(lines().map((l) => (JSON.parse(l) as { rule: string }).rule)).toEqual(['Read sensitive file untrusted', 'Write below binary dir']);
      expect(await metricsText(base)).toMatch(/lanner_falco_reconnects_total [1-9]/);

      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    } finally {
      await falco.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
