/**
 * promtool, Prometheus' own checker, on the shipped alert rules: they parse, and their unit
 * tests (deploy/prometheus/lanner-rules.test.yaml) pass. The metrics side of promtool
 * (`check metrics` on a live /metrics) runs in prometheus.test.ts, which has Lanner running.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { DEPLOY, readYaml, runPromtool, skipWithout } from '../support/prometheus.js';

describe.skipIf(skipWithout('promtool', 'promtool checks of the alert rules'))('promtool', () => {
  it('check rules accepts lanner-rules.yaml', async () => {
    const r = await runPromtool(['check', 'rules', DEPLOY.rules]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS: 9 rules found');
  });

  it('check rules accepts the spec of the PrometheusRule manifest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanner-promtool-'));
    try {
      const spec = (readYaml(DEPLOY.prometheusRule) as { spec: unknown }).spec;
      const file = join(dir, 'spec.yaml');
      writeFileSync(file, stringifyYaml(spec));
      const r = await runPromtool(['check', 'rules', file]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('test rules passes the unit tests of every alert', async () => {
    // rule_files in the test file are relative to it.
    const r = await runPromtool(['test', 'rules', DEPLOY.rulesTest], { cwd: dirname(DEPLOY.rulesTest) });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });
});
