import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJsonExact } from '../../src/core/exact-json.js';
import { assertBuilt, lanner } from '../support/cli.js';
import { REPO_ROOT } from '../support/shared.js';

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

  it('exits 2 on bad usage and bad config, naming the problem', async () => {
    const noInput = await lanner(['replay']);
    expect(noInput.code).toBe(2);
    expect(noInput.stderr).toContain('LANNER_USAGE');

    const badFlag = await lanner(['replay', FIXTURE, '--colour']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("Unknown option '--colour'");

    const dir = mkdtempSync(join(tmpdir(), 'lanner-cli-'));
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
