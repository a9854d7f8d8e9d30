/**
 * An output whose receiver goes away for a stretch and comes back: what was queued within the
 * bound is delivered in order, the rest is counted as dropped, and a healthy output beside it
 * neither waits nor loses anything meanwhile.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import type { Output } from '../../src/outputs/output.js';
import { findOutput } from '../../src/outputs/registry.js';
import { TEST_CONTEXT } from './parse-context.js';
import { SECOND, shellAlert, T0 } from '../support/alerts.js';
import { startStandin, type Standin } from '../support/http-standin.js';
import { ABANDONED_AT_CLOSE, testDeps, value } from '../support/output-metrics.js';
import { waitFor } from '../support/wait.js';

/** A Loki stand-in that can be stopped and started again on the same port. */
async function loki(port = 0): Promise<{ server: http.Server; port: number; received: string[] }> {
  const received: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { streams: { values: [string, string][] }[] };
      for (const s of parsed.streams) for (const [, line] of s.values) received.push((JSON.parse(line) as { workload: { container_id: string } }).workload.container_id);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

function build(block: Record<string, unknown>, deps = testDeps()): Output {
  const parsed = findOutput(String(block['type']))!.parse(block, TEST_CONTEXT);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const out = parsed.create(String(block['name']), deps);
  cleanup.push(() => out.close());
  return out;
}

describe('outage', () => {
  it('delivers what the bound held, in order, counts the rest, and never slows the healthy output', async () => {
    const first = await loki();
    const port = first.port;
    await new Promise<void>((resolve) => first.server.close(() => resolve())); // down from the start

    const healthy: Standin = await startStandin(() => ({ status: 200 }));
    cleanup.push(() => healthy.close());

    const deps = testDeps();
    const dead = build(
      {
        type: 'loki',
        name: 'loki',
        url: `http://127.0.0.1:${port}`,
        batch: { max_size: 5, interval: '10ms' },
        queue: { max_size: 10, shed: 'newest' },
        retry: { max_retries: 100000, initial_backoff: '5ms', max_backoff: '20ms' },
      },
      deps,
    );
    const other = build({ type: 'webhook', name: 'hook', url: healthy.url, batch: { max_size: 10, interval: '10ms' } }, deps);

    const alerts: Alert[] = Array.from({ length: 30 }, (_, i) => shellAlert({ timeNs: T0 + BigInt(i) * SECOND, container: `c${String(i).padStart(2, '0')}` }));
    for (const a of alerts) {
      dead.send(a);
      other.send(a);
    }
    // send() never waits on a receiver: before any attempt to reach the dead one could fail, the
    // queue's bound was applied and what did not fit was shed.
    expect(await value(deps.metrics.outputFailures, { output: 'loki', reason: 'connect' })).toBe(0);
    expect(await value(deps.metrics.outputDropped, { output: 'loki', reason: 'queue_full' })).toBe(15);

    // The healthy output delivers everything while the other is still down.
    await other.flush();
    const hookIds = healthy.requests.flatMap((r) => (JSON.parse(r.body) as { workload: { container_id: string } }[]).map((a) => a.workload.container_id));
    expect(hookIds).toEqual(alerts.map((a) => a.workload.container_id));
    expect(await value(deps.metrics.outputFailures, { output: 'hook', reason: 'connect' })).toBe(0);

    // Down for a stretch: several attempts fail to connect.
    await waitFor(async () => (await value(deps.metrics.outputFailures, { output: 'loki', reason: 'connect' })) >= 3, { what: 'three failed attempts' });
    expect(await value(deps.metrics.outputSent, { output: 'loki' })).toBe(0);
    // 5 in flight + 10 queued are kept; the 15 newest were shed and counted.
    expect(await value(deps.metrics.outputDropped, { output: 'loki', reason: 'queue_full' })).toBe(15);
    expect(await value(deps.metrics.outputQueueDepth, { output: 'loki' })).toBe(10);

    // Back again, on the same address.
    const back = await loki(port);
    cleanup.push(() => new Promise((resolve) => back.server.close(() => resolve())));
    await dead.flush();
    expect(back.received).toEqual(alerts.slice(0, 15).map((a) => a.workload.container_id));
    expect(await value(deps.metrics.outputSent, { output: 'loki' })).toBe(15);
  });

  it('on shutdown, what a dead receiver never got is counted as dropped within the grace period', async () => {
    const gone = await loki();
    await new Promise<void>((resolve) => gone.server.close(() => resolve()));
    const logs: Record<string, unknown>[] = [];
    const deps = testDeps(logs);
    const out = build(
      { type: 'loki', name: 'gone', url: `http://127.0.0.1:${gone.port}`, close_timeout: '100ms', retry: { max_retries: 100000, initial_backoff: '5ms', max_backoff: '10ms' } },
      deps,
    );
    for (let i = 0; i < 7; i++) out.send(shellAlert({ container: `x${i}` }));
    // Retrying without end, close() returns only because close_timeout ran out: the timeout taken
    // from the config is the one logged (its timing is tested in virtual time in batch-queue.test.ts).
    await out.close();
    expect(logs.filter((e) => e['msg'] === ABANDONED_AT_CLOSE)).toEqual([expect.objectContaining({ output: 'gone', abandoned: 7, close_timeout_ms: 100 })]);
    expect(await value(deps.metrics.outputDropped, { output: 'gone', reason: 'shutdown' })).toBe(7);
  });
});
