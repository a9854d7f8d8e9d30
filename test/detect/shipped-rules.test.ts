import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { loadDetectionRules } from '../../src/detect/detection-rules.js';
import { DEFAULT_BOUNDS, RuleEngine } from '../../src/detect/rule-engine.js';
import { normalizeJsonLine } from '../../src/ingest/json-lines.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { HAVE_SHARED, REPO_ROOT, sampleTraces } from '../support/shared.js';

const shipped = loadDetectionRules([join(REPO_ROOT, 'rules')], DEFAULT_BOUNDS);

describe('the shipped rules', () => {
  it('load without errors, every rule with one family tag, MITRE ids, a runbook and a priority', () => {
    expect(shipped.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(shipped.rules.length).toBeGreaterThanOrEqual(30);
    const families = ['shell_spawn', 'setuid', 'container_escape', 'unexpected_egress', 'tmp_race', 'drift'];
    for (const rule of shipped.rules) {
      expect(rule.tags.filter((t) => families.includes(t)), rule.name).toHaveLength(1);
      expect(rule.tags.some((t) => /^T\d{4}(\.\d{3})?$/.test(t)), rule.name).toBe(true);
      expect(rule.runbook, rule.name).toMatch(/^docs\/runbooks\/[a-z_]+\.md$/);
    }
    for (const family of families) expect(shipped.rules.some((r) => r.tags.includes(family)), family).toBe(true);
  });

  it.skipIf(!HAVE_SHARED)('stay silent on every real trace except the privileged container start, which alerts once', () => {
    const byTrace = new Map<string, string[]>();
    for (const { name, lines } of sampleTraces()) {
      const engine = new RuleEngine(shipped.rules, { metrics: createMetrics({ processMetrics: false }) });
      const alerts: Alert[] = [];
      for (const line of lines) {
        const r = normalizeJsonLine(line);
        if (r.ok) engine.process(r.event, alerts);
      }
      engine.sweep(alerts);
      byTrace.set(name, alerts.map((a) => a.rule));
    }
    for (const [name, rules] of byTrace) {
      if (name === 'falco_privileged.falco.jsonl') expect(rules, name).toEqual(['Privileged container started']);
      else expect(rules, name).toEqual([]);
    }
  });
});

describe('the Falco feed kit', () => {
  it('forwards exactly the field set rules are checked against', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const { FEED_FIELDS } = await import('../../src/rules/feed-fields.js');
    const kit = parse(readFileSync(join(REPO_ROOT, 'deploy', 'falco', 'falco-feed.yaml'), 'utf8')) as { append_output: { extra_fields: string[] }[] };
    expect([...kit.append_output[0]!.extra_fields].sort()).toEqual([...FEED_FIELDS].sort());
  });

  it('lets every shipped rule read only fields the feed carries', async () => {
    const { isEvaluable } = await import('../../src/rules/feed-fields.js');
    const load = (await import('../../src/rules/loader.js')).loadRulesSync([join(REPO_ROOT, 'rules')]);
    for (const rule of load.ruleSet.rules) {
      const missing = [...rule.fields].filter((f) => !isEvaluable(f));
      expect(missing, rule.name).toEqual([]);
    }
  });
});
