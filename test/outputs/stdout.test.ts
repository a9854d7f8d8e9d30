import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { StdoutOutput } from '../../src/outputs/stdout.js';
import { shellAlert } from '../support/alerts.js';
import { testDeps, value } from '../support/output-metrics.js';
import { waitFor } from '../support/wait.js';

describe('stdout output', () => {
  it('when its reader goes away, keeps the detector running and counts every later alert as dropped', async () => {
    // A real pipe to a reader that takes one byte and leaves, as `lanner run | head -c 1` does.
    const reader = spawn('head', ['-c', '1'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const deps = testDeps();
    const out = new StdoutOutput('stdout', { format: 'json', maxBacklogBytes: 1 << 20 }, deps, reader.stdin);
    out.send(shellAlert());
    await once(reader, 'exit');
    let sent = 1;
    await waitFor(async () => {
      out.send(shellAlert());
      sent++;
      return (await value(deps.metrics.outputDropped, { output: 'stdout', reason: 'stream_closed' })) > 0;
    }, { what: 'the closed pipe to be noticed' });
    for (let i = 0; i < 5; i++) out.send(shellAlert());
    const delivered = await value(deps.metrics.outputSent, { output: 'stdout' });
    const dropped = await value(deps.metrics.outputDropped, { output: 'stdout', reason: 'stream_closed' });
    expect(delivered + dropped).toBe(sent + 5);
    expect(dropped).toBeGreaterThanOrEqual(6);
    await out.close();
  });

  it('has its sent and dropped series at 0 before the first alert, so an alert on increase() sees the first loss', async () => {
    const deps = testDeps();
    const out = new StdoutOutput('screen', { format: 'json', maxBacklogBytes: 1 << 20 }, deps, new PassThrough());
    const series = async (metric: Counter<string>): Promise<string[]> =>
      (await metric.get()).values.filter((v) => v.labels['output'] === 'screen').map((v) => `${String(v.labels['reason'] ?? '')}=${v.value}`);
    expect(await series(deps.metrics.outputSent)).toEqual(['=0']);
    expect(await series(deps.metrics.outputDropped)).toEqual(expect.arrayContaining(['backlog_full=0', 'stream_closed=0']));
    await out.close();
  });
});
