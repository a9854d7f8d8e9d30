import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findOutput } from '../../src/outputs/registry.js';
import { TEST_CONTEXT } from './parse-context.js';
import { shellAlert } from '../support/alerts.js';
import { testDeps } from '../support/output-metrics.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('file output', () => {
  it('appends one alert per line and rotates by size, keeping max_files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanner-file-'));
    dirs.push(dir);
    const path = join(dir, 'alerts', 'alerts.jsonl');
    const parsed = findOutput('file')!.parse({ type: 'file', path, max_size: '4KiB', max_files: 2, batch: { max_size: 1 } }, TEST_CONTEXT);
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const out = parsed.create('file', testDeps());
    const alerts = Array.from({ length: 40 }, (_, i) => shellAlert({ container: `c${String(i).padStart(2, '0')}` }));
    for (const a of alerts) out.send(a);
    await out.close();
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    const files = [`${path}.2`, `${path}.1`, path];
    for (const f of files) expect(statSync(f).size).toBeLessThanOrEqual(4096);
    const ids = files.flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id));
    // The newest alerts, in order, with nothing lost between files.
    expect(ids).toEqual(alerts.slice(alerts.length - ids.length).map((a) => a.id));
  });

  it('writes the configured format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanner-file-'));
    dirs.push(dir);
    const path = join(dir, 'alerts.cef');
    const parsed = findOutput('file')!.parse({ type: 'file', path, format: 'cef' }, TEST_CONTEXT);
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const out = parsed.create('file', testDeps());
    out.send(shellAlert());
    await out.close();
    expect(readFileSync(path, 'utf8')).toMatch(/^CEF:0\|Lanner\|Lanner\|[^|]+\|terminal_shell_in_container\|Terminal shell in container\|3\|/);
  });
});
