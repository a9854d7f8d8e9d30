/**
 * SIGTERM with an output whose receiver is gone: `lanner run` delivers what it can to the
 * healthy output, gives the dead one its close_timeout, counts and logs what it could not send,
 * and exits 0 within shutdown.grace.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringifyExact } from '../../src/core/exact-json.js';
import { assertBuilt, startLanner, waitForLog } from '../support/cli.js';
import { falcoJson } from '../support/events.js';
import { startStandin, type Standin } from '../support/http-standin.js';
import { freePort } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

beforeAll(assertBuilt);

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

function logsOf(child: ChildProcessWithoutNullStreams): () => Record<string, unknown>[] {
  let text = '';
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  return () =>
    text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('lanner run on SIGTERM', () => {
  it('flushes the healthy output, counts and logs what a dead receiver never got, and exits 0 within the grace period', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanner-shutdown-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const healthy: Standin = await startStandin(() => ({ status: 200 }));
    cleanup.push(() => healthy.close());
    const deadPort = await freePort(); // nothing listens there

    const config = join(dir, 'lanner.yaml');
    writeFileSync(
      config,
      stringifyExact({
        alerts: { dedup: { enabled: false } },
        outputs: [
          // A long interval: alerts are still queued when SIGTERM comes, so only close() sends them.
          { type: 'webhook', name: 'soar', url: healthy.url, batch: { max_size: 100, interval: '1h' }, close_timeout: '1s' },
          {
            type: 'webhook',
            name: 'gone',
            url: `http://127.0.0.1:${deadPort}/hook`,
            batch: { max_size: 2, interval: '10ms' },
            retry: { max_retries: 1000, initial_backoff: '10ms', max_backoff: '50ms' },
            close_timeout: '500ms',
          },
        ],
        shutdown: { grace: '3s' },
      }),
    );
    const child = startLanner(['run', '--config', config, '--ingest-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0']);
    cleanup.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    const logs = logsOf(child);
    const [ops, ingest] = await Promise.all([
      waitForLog(child, (e) => e['msg'] === 'serving /metrics, /healthz, /readyz'),
      waitForLog(child, (e) => e['msg'] === 'receiving Falco http_output'),
    ]);

    const events = ['c1', 'c2', 'c3', 'c4', 'c5'].map((c) =>
      stringifyExact(falcoJson({ rule: 'Write below binary dir', priority: 'Error', fields: { 'container.id': c, 'k8s.ns.name': 'shop' } })),
    );
    const posted = await fetch(String(ingest['url']), { method: 'POST', body: events.join('\n') });
    expect(posted.status).toBe(200);
    // Detection has handed every alert to the outputs, and the dead one has failed to connect.
    const metricsUrl = `http://${String(ops['address'])}/metrics`;
    await waitFor(
      async () => {
        const text = await (await fetch(metricsUrl)).text();
        return /^lanner_alerts_total\{rule="Write below binary dir"[^}]*\} 5$/m.test(text) && /^lanner_output_failures_total\{output="gone",reason="connect"\} [1-9]/m.test(text);
      },
      { what: 'five alerts counted and a failed attempt of the dead output' },
    );
    expect(healthy.requests).toEqual([]);

    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // A lower bound only, which a slow machine cannot break: the dead output was given its
    // close_timeout. That shutdown ended within the grace is the `clean` outcome below.
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);

    // Everything reached the healthy receiver, in one final batch.
    const delivered = healthy.requests.flatMap((r) => (JSON.parse(r.body) as { workload: { container_id: string } }[]).map((a) => a.workload.container_id));
    expect(delivered).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    // The dead receiver's five are logged by number, not dropped silently.
    const abandoned = logs().find((e) => e['msg'] === 'output could not deliver everything before shutdown; the rest is counted as dropped');
    expect(abandoned, JSON.stringify(logs().map((e) => e['msg']))).toMatchObject({ output: 'gone', abandoned: 5, close_timeout_ms: 500 });
    // Both the batch it kept retrying and the ones queued behind it.
    expect(Number(abandoned!['in_flight'])).toBeGreaterThanOrEqual(1);
    expect(Number(abandoned!['in_flight']) + Number(abandoned!['queued'])).toBe(5);
    expect(logs().find((e) => e['msg'] === 'lanner stopped')).toMatchObject({ outcome: 'clean' });
  });
});
