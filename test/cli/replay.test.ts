import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJsonExact } from '../../src/core/exact-json.js';
import { assertBuilt, lanner } from '../support/cli.js';
import { HAVE_SHARED, REPO_ROOT, SHARED_DIR } from '../support/shared.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

const FIXTURE = join('test', 'fixtures', 'replay-small.jsonl');

beforeAll(assertBuilt);

describe('lanner replay', () => {
  it('writes one native alert per Falco alert, skips feed events and counts bad lines', async () => {
    const r = await lanner(['replay', FIXTURE]);
    expect(r.code).toBe(0);
    const alerts = r.stdout.trim().split('\n').map((l) => parseJsonExact(l) as Record<string, unknown>);
    expect(alerts.map((a) => a['rule'])).toEqual(['Terminal shell in container', 'Read sensitive file untrusted']);
    expect(alerts[0]).toMatchObject({
      time: '2026-11-21T09:15:03.250000002Z',
      origin: 'falco',
      workload: { namespace: 'shop', pod: 'checkout-6d8f9c7b5-x2lqp', image: 'registry.example.com/shop/checkout:1.8.2' },
      process: { name: 'sh', parent: 'runc', uid: 0 },
    });
    const evidence = (alerts[0]!['evidence'] as Record<string, Record<string, unknown>>[])[0]!;
    expect(evidence['output_fields']!['evt.time']).toBe(1795252503250000002n);
    expect(r.stderr).toContain('4 events (2 feed, 2 Falco alerts), 2 invalid, 2 alerts');
    expect(r.stderr).toContain('invalid bad_json: 1');
    expect(r.stderr).toContain('invalid missing_rule: 1');
  });

  it('reads stdin when given -', async () => {
    const r = await lanner(['replay', '-'], { stdin: readFileSync(join(REPO_ROOT, FIXTURE), 'utf8') });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('renders readable alerts with --format pretty', async () => {
    const r = await lanner(['replay', FIXTURE, '--format', 'pretty']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Terminal shell in container');
    expect(r.stdout).toContain('shop/checkout-6d8f9c7b5-x2lqp');
    expect(r.stdout.startsWith('{')).toBe(false);
  });

  it('shows every SIEM format with --format, one alert per line, without configuring an output', async () => {
    const lines = async (format: string): Promise<string[]> => {
      const r = await lanner(['replay', FIXTURE, '--format', format]);
      expect(r.code, `${format}: ${r.stderr}`).toBe(0);
      const out = r.stdout.trimEnd().split('\n');
      expect(out, format).toHaveLength(2);
      return out;
    };
    const native = (await lines('native')).map((l) => parseJsonExact(l) as Record<string, unknown>);
    expect(native.map((a) => a['rule'])).toEqual(['Terminal shell in container', 'Read sensitive file untrusted']);
    expect(native[0]).toMatchObject({ time: '2026-11-21T09:15:03.250000002Z', origin: 'falco', count: 1 });

    const ecs = (await lines('ecs')).map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
    expect(ecs[0]).toMatchObject({
      '@timestamp': '2026-11-21T09:15:03.250000002Z',
      event: { kind: 'alert' },
      rule: { name: 'Terminal shell in container' },
      threat: { framework: 'MITRE ATT&CK' },
      orchestrator: { namespace: 'shop' },
      process: { name: 'sh', pid: 7400 },
    });

    const ocsf = (await lines('ocsf')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ocsf[0]).toMatchObject({ class_uid: 2004, category_uid: 2, type_uid: 200401, finding_info: { title: 'Terminal shell in container' }, metadata: { product: { name: 'Lanner' } } });

    const cef = await lines('cef');
    expect(cef[0]).toMatch(/^CEF:0\|Lanner\|Lanner\|[^|]+\|terminal_shell_in_container\|Terminal shell in container\|3\|rt=1795252503250 /);
    // Falco's output has `user=root`: an extension value escapes its = signs.
    expect(cef[0]).toContain(' msg=09:15:03.250000002: Notice A shell was spawned in a container with an attached terminal | user\\=root ');

    const syslog = await lines('syslog');
    expect(syslog[0]).toMatch(/^<133>1 2026-11-21T09:15:03\.250000Z worker-2 lanner - alert \[lanner@32473 id="[^"]+" rule="Terminal shell in container" priority="Notice"/);
    expect(syslog[1]).toMatch(/^<132>1 /);

    const bad = await lanner(['replay', FIXTURE, '--format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('LANNER_USAGE');
    expect(bad.stderr).toContain('native, ecs, ocsf, cef, syslog');
  });

  // Every trace is replayed in-process in test/service/assemble.test.ts; starting the binary once
  // per trace would cost seconds of CPU each. Here, one trace that alerts and one that does not.
  it.skipIf(!HAVE_SHARED)('with the shipped rules and the default configuration, alerts on a real privileged container start and not on a quiet trace', async () => {
    const dir = join(SHARED_DIR, 'falco-samples', 'traces');
    const rulesOf = (stdout: string): string[] => (stdout.trim() === '' ? [] : stdout.trim().split('\n').map((l) => (JSON.parse(l) as { rule: string }).rule));
    const privileged = await lanner(['replay', join(dir, 'falco_privileged.falco.jsonl'), '--rules', 'rules']);
    expect(privileged.code, privileged.stderr).toBe(0);
    expect(rulesOf(privileged.stdout)).toEqual(['Privileged container started']);
    const quiet = await lanner(['replay', join(dir, 'sysdig-inspect_502Error.falco.jsonl'), '--rules', 'rules']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toMatch(/^lanner replay: [1-9]\d* events /);
    expect(rulesOf(quiet.stdout)).toEqual([]);
  });

  it('exits 2 on bad usage and bad config, naming the problem', async () => {
    const noInput = await lanner(['replay']);
    expect(noInput.code).toBe(2);
    expect(noInput.stderr).toContain('LANNER_USAGE');

    const badFlag = await lanner(['replay', FIXTURE, '--colour']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("Unknown option '--colour'");

    const dir = tempDir('cli');
    writeFileSync(join(dir, 'bad.yaml'), 'ingest:\n  queue_size: lots\n');
    const badConfig = await lanner(['replay', FIXTURE, '--config', join(dir, 'bad.yaml')]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain('LANNER_CONFIG_INVALID');
    expect(badConfig.stderr).toContain('ingest.queue_size: "lots" is invalid');
  });

  it('exits 1 when the input cannot be read', async () => {
    const r = await lanner(['replay', 'no/such/file.jsonl']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('LANNER_INPUT_READ');
  });
});

describe('lanner', () => {
  it('prints help for itself and each command', async () => {
    for (const args of [['--help'], ['run', '--help'], ['replay', '--help'], ['demo', '--help']]) {
      const r = await lanner(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage|lanner:/);
    }
  });

  it('exits 2 on an unknown command and on run without any source', async () => {
    expect((await lanner(['frobnicate'])).code).toBe(2);
    const r = await lanner(['run', '--metrics-listen', '127.0.0.1:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('LANNER_NO_SOURCE');
  });
});
