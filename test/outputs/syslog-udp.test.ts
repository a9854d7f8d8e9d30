/**
 * Syslog over UDP with messages longer than a datagram may be (RFC 5426 §3.2): truncated to the
 * configured size, at its boundary, and counted, instead of refused by the kernel and lost.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { enrichAlert } from '../../src/alerts/enrich.js';
import { formatSyslog } from '../../src/alerts/formats/syslog.js';
import { findOutput } from '../../src/outputs/registry.js';
import { MAX_UDP_MESSAGE_BYTES, SyslogExporter } from '../../src/outputs/syslog.js';
import { TEST_CONTEXT } from './parse-context.js';
import { shellAlert } from '../support/alerts.js';
import { testDeps, value } from '../support/output-metrics.js';
import { waitFor } from '../support/wait.js';
import { parse5424, sdParam } from '../hostile/format-readers.js';

interface Receiver {
  readonly port: number;
  readonly datagrams: Buffer[];
  close(): void;
}

const receivers: Receiver[] = [];
afterEach(() => {
  for (const r of receivers.splice(0)) r.close();
});

async function receiver(): Promise<Receiver> {
  const socket = dgram.createSocket('udp4');
  const datagrams: Buffer[] = [];
  socket.on('message', (m) => datagrams.push(m));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const r = { port: (socket.address() as AddressInfo).port, datagrams, close: () => socket.close() };
  receivers.push(r);
  return r;
}

const longAlert = (cmdlineBytes: number): Alert =>
  enrichAlert({ ...shellAlert(), node: 'worker-1', process: { ...shellAlert().process, cmdline: 'x'.repeat(cmdlineBytes) } });

function parse(block: Record<string, unknown>) {
  return findOutput('syslog')!.parse({ type: 'syslog', host: '127.0.0.1', transport: 'udp', ...block }, TEST_CONTEXT);
}

describe('syslog over UDP: oversize messages', () => {
  it('sends a message of exactly the limit whole, and truncates one byte more to fit, counting each truncation', async () => {
    const rx = await receiver();
    const alert = longAlert(3000);
    const size = Buffer.byteLength(formatSyslog(alert));
    let counted = 0;
    const exporter = (max: number) => new SyslogExporter({ transport: 'udp', host: '127.0.0.1', port: rx.port, format: {}, maxMessageBytes: max, onTruncated: () => counted++ });
    const signal = new AbortController().signal;

    const atLimit = exporter(size);
    expect(await atLimit.export([alert], signal)).toEqual({ ok: true });
    const over = exporter(size - 1);
    expect(await over.export([alert, alert], signal)).toEqual({ ok: true });
    await waitFor(() => rx.datagrams.length === 3, { what: 'three datagrams' });
    expect(rx.datagrams[0]!.toString('utf8')).toBe(formatSyslog(alert));
    expect(atLimit.truncated).toBe(0);
    for (const d of rx.datagrams.slice(1)) {
      expect(d.length).toBeLessThanOrEqual(size - 1);
      expect(sdParam(parse5424(d.toString('utf8')), 'lanner@32473', 'id')).toBe(alert.id);
    }
    expect(over.truncated).toBe(2);
    expect(counted).toBe(2);
    await atLimit.close();
    await over.close();
  });

  it('delivers a 100 KB alert as one datagram of the largest UDP size instead of losing it', async () => {
    const rx = await receiver();
    const parsed = parse({ port: rx.port, max_message_size: MAX_UDP_MESSAGE_BYTES });
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const deps = testDeps();
    const out = parsed.create('siem-udp', deps);
    const alert = longAlert(100 * 1024);
    out.send(alert);
    await out.flush();
    await waitFor(() => rx.datagrams.length === 1, { what: 'the datagram' });
    const d = rx.datagrams[0]!;
    expect(d.length).toBeLessThanOrEqual(MAX_UDP_MESSAGE_BYTES);
    expect(d.length).toBeGreaterThan(MAX_UDP_MESSAGE_BYTES - 8);
    const m = parse5424(d.toString('utf8'));
    expect(sdParam(m, 'lanner@32473', 'id')).toBe(alert.id);
    expect(sdParam(m, 'proc@32473', 'cmdline')!.length).toBeGreaterThan(60_000);
    expect(await value(deps.metrics.outputSent, { output: 'siem-udp' })).toBe(1);
    expect(await value(deps.metrics.outputDropped, { output: 'siem-udp', reason: 'retries_exhausted' })).toBe(0);
    await out.close();
  });

  it('truncates to 8096 bytes by default, rsyslog’s own limit, and says so in the log with the count', async () => {
    const rx = await receiver();
    const parsed = parse({ port: rx.port });
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const deps = { ...testDeps(), logger };
    const out = parsed.create('siem-udp', deps);
    const truncated = async (): Promise<number | undefined> =>
      (await deps.metrics.outputTruncated.get()).values.find((v) => v.labels['output'] === 'siem-udp')?.value;
    // There from the start, at 0, so increase() sees the first truncated message.
    expect(await truncated()).toBe(0);
    out.send(longAlert(20_000));
    out.send(longAlert(9000));
    out.send(shellAlert());
    await out.flush();
    await waitFor(() => rx.datagrams.length === 3, { what: 'three datagrams' });
    expect(rx.datagrams.map((d) => d.length <= 8096)).toEqual([true, true, true]);
    expect(rx.datagrams[2]!.toString('utf8')).toBe(formatSyslog(shellAlert(), { facility: 'local0', appName: 'lanner', enterpriseId: 32473, message: 'output' }));
    // One warning for the minute, with the total so far.
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ output: 'siem-udp', truncated_total: 1, max_message_size: 8096 });
    // Every truncated message is counted, the logged ones and the quiet ones alike.
    expect(await truncated()).toBe(2);
    await out.close();
  });

  it.each([
    [479, false],
    [480, true],
    [481, true],
    [MAX_UDP_MESSAGE_BYTES - 1, true],
    [MAX_UDP_MESSAGE_BYTES, true],
    [MAX_UDP_MESSAGE_BYTES + 1, false],
  ])('accepts max_message_size %i: %s', (size, ok) => {
    const parsed = parse({ max_message_size: size });
    expect(parsed.ok).toBe(ok);
    if (!parsed.ok) expect(parsed.problems.join('\n')).toMatch(/^max_message_size: /);
  });

  it.each([
    [4_294_967_295, true],
    [4_294_967_296, false],
  ])('accepts enterprise_id %i: %s (SD-IDs stay within 32 characters)', (pen, ok) => {
    expect(parse({ enterprise_id: pen }).ok).toBe(ok);
  });
});
