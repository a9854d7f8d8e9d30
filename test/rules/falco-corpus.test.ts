/**
 * Falco's own published rule files must load and compile completely, and Falco's real alerts and
 * traces must evaluate as Falco evaluated them, where the event carries what the rule needs.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeFalcoJson } from '../../src/ingest/normalize.js';
import { coverageOf } from '../../src/rules/fields/coverage.js';
import { FEED_FIELDS, isEvaluable } from '../../src/rules/fields/feed-fields.js';
import { loadRules, type LoadResult } from '../../src/rules/load/loader.js';
import { HAVE_SHARED, SHARED_DIR, sampleAlertLines, sampleTraces } from '../support/shared.js';

const RULES = join(SHARED_DIR, 'falco-rules');
const FILES = ['falco_rules.yaml', 'falco-incubating_rules.yaml', 'falco-sandbox_rules.yaml'];
const RULE_COUNTS: Record<string, number> = { 'falco_rules.yaml': 25, 'falco-incubating_rules.yaml': 31, 'falco-sandbox_rules.yaml': 37 };

if (!HAVE_SHARED) console.warn(`\n*** ${SHARED_DIR} is missing: the Falco rule corpus tests are SKIPPED ***\n`);

function errorsAndWarnings(r: LoadResult): string[] {
  return r.problems.filter((p) => p.severity !== 'info').map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
}

describe.skipIf(!HAVE_SHARED)('Falco rule corpus', () => {
  it.each(FILES)('%s loads alone with every list, macro, rule and exception compiled', async (file) => {
    const r = await loadRules([join(RULES, file)]);
    expect(errorsAndWarnings(r)).toEqual([]);
    expect(r.notCompiled).toEqual([]);
    expect(r.ruleSet.rules).toHaveLength(RULE_COUNTS[file]!);
    // required_engine_version and required_plugin_versions are accepted and reported
    expect(r.problems.filter((p) => p.code === 'LANNER_RULE_VERSION')).toHaveLength(2);
  });

  it('all three load together, later files refining earlier ones', async () => {
    const r = await loadRules(FILES.map((f) => join(RULES, f)));
    expect(errorsAndWarnings(r)).toEqual([]);
    expect(r.ruleSet.rules).toHaveLength(93);
    expect(r.problems.every((p) => ['LANNER_RULE_VERSION', 'LANNER_RULE_REDEFINED', 'LANNER_RULE_UNEVALUABLE'].includes(p.code))).toBe(true);
    for (const rule of r.ruleSet.rules) {
      expect(rule.resolvedCondition, rule.name).not.toMatch(/\bmacro\b/);
      // every syscall rule is indexed by event type, as Falco's are
      expect(rule.eventTypes, rule.name).toBeDefined();
    }
  });

  it('reports by rule name the fields Lanner\'s feed does not forward', async () => {
    const r = await loadRules(FILES.map((f) => join(RULES, f)));
    const report = coverageOf(r.ruleSet.rules);
    expect(report.total).toBe(93);
    const evaluable = report.rules.filter((c) => c.missing.length === 0);
    console.info(`Falco rules evaluable from the feed fields: ${report.evaluable}/${report.total}; most missed fields: ${report.missingFields.slice(0, 8).map((m) => `${m.field} (${m.rules})`).join(', ')}`);
    expect(report.evaluable).toBe(evaluable.length);
    expect(report.evaluable).toBeGreaterThanOrEqual(50);
    for (const c of report.rules) for (const f of c.missing) expect(isEvaluable(f, FEED_FIELDS)).toBe(false);
    const setuid = report.rules.find((c) => c.rule === 'Non sudo setuid')!;
    expect(setuid.missing).toEqual([]);
    const outbound = report.rules.find((c) => c.rule === 'Unexpected outbound connection destination');
    if (outbound) expect(outbound.missing.length).toBeGreaterThan(0);
    // What lint and the service's start-up log show: each enabled rule that misses fields, by name, with them.
    const enabled = new Set(r.ruleSet.rules.filter((rule) => rule.enabled).map((rule) => rule.name));
    const shown = r.problems.filter((p) => p.code === 'LANNER_RULE_UNEVALUABLE').map((p) => p.message);
    const expected = report.rules.filter((c) => c.missing.length > 0 && enabled.has(c.rule));
    expect(expected.length).toBeGreaterThan(0);
    expect(shown).toHaveLength(expected.length);
    for (const c of expected) {
      const line = shown.find((m) => m.startsWith(`rule '${c.rule}' `));
      expect(line, c.rule).toMatch(/^rule '.*' reads fields Lanner's feed does not forward, so (it can never match|checks on them never hold and it may match more or less than in Falco): /);
      expect(line!.endsWith(`: ${c.missing.join(', ')}`), line).toBe(true);
    }
  });
});

describe.skipIf(!HAVE_SHARED)('Falco rules on real Falco events', async () => {
  const result = HAVE_SHARED ? await loadRules([join(RULES, 'falco_rules.yaml')]) : undefined;

  it('matches each real alert where the alert carries every field the rule reads, and never throws', () => {
    const rules = result!.ruleSet;
    let checked = 0;
    let named = 0;
    for (const line of sampleAlertLines()) {
      const n = normalizeFalcoJson(JSON.parse(line), 'file');
      if (!n.ok) continue;
      const rule = rules.get(n.event.rule);
      if (!rule) continue;
      named++;
      const verdict = rule.matches(n.event);
      const available = new Set(Object.keys(n.event.fields));
      if ([...rule.fields].every((f) => isEvaluable(f, available))) {
        expect(verdict, `${rule.name}: ${rule.resolvedCondition}`).toBe(true);
        checked++;
      }
    }
    console.info(`real alerts naming a falco_rules.yaml rule: ${named}; with every field the rule reads: ${checked}`);
    expect(named).toBeGreaterThanOrEqual(8);
    // The verdict was checked, not only computed: at least one alert carries all its rule reads.
    expect(checked).toBeGreaterThanOrEqual(1);
  });

  it('matches the kubectl exec alert once the event type Falco saw (execve) is added back', () => {
    const rule = result!.ruleSet.get('Terminal shell in container')!;
    const line = sampleAlertLines().find((l) => l.includes('"rule":"Terminal shell in container"') && l.includes('kubecon'))!;
    const n = normalizeFalcoJson(JSON.parse(line), 'file');
    if (!n.ok) throw new Error(n.detail);
    const ev = { ...n.event, fields: { ...n.event.fields, 'evt.type': 'execve' } };
    const missing = [...rule.fields].filter((f) => !isEvaluable(f, new Set(Object.keys(ev.fields))));
    expect(missing).toEqual([]);
    expect(rule.matches(ev)).toBe(true);
    expect(rule.matches({ ...ev, fields: { ...ev.fields, 'proc.tty': 0 } })).toBe(false);
    expect(rule.matches({ ...ev, fields: { ...ev.fields, 'container.id': 'host' } })).toBe(false);
    expect(rule.render(ev)).toContain('process=sh');
  });

  it('evaluates every trace event against falco_rules.yaml without throwing; the busy benign trace stays quiet', () => {
    const rules = result!.ruleSet;
    const traces = sampleTraces();
    const matchesByTrace: Record<string, number> = {};
    let events = 0;
    let verdicts = 0;
    for (const trace of traces) {
      let matched = 0;
      for (const line of trace.lines) {
        const n = normalizeFalcoJson(JSON.parse(line), 'file');
        if (!n.ok) throw new Error(`${trace.name}: ${n.detail}`);
        events++;
        // Every rule on every event, not only the candidates: none may throw.
        for (const rule of rules.rules) {
          rule.matches(n.event);
          verdicts++;
        }
        matched += rules.match(n.event).length;
      }
      matchesByTrace[trace.name] = matched;
    }
    console.info(`falco_rules.yaml matches per trace: ${JSON.stringify(matchesByTrace)}`);
    // The loops ran over every event of every trace (over a thousand), with every rule.
    expect(traces.length).toBeGreaterThanOrEqual(12);
    expect(events).toBe(traces.reduce((sum, t) => sum + t.lines.length, 0));
    expect(events).toBeGreaterThan(1000);
    expect(verdicts).toBe(events * rules.rules.length);
    expect(matchesByTrace['sysdig-inspect_502Error.falco.jsonl']).toBe(0);
  });

  it('finds candidates by evt.type: a trace event meets only the rules that can match it', () => {
    const rules = result!.ruleSet;
    const trace = sampleTraces().find((t) => t.name === 'sysdig-inspect_502Error.falco.jsonl')!;
    let candidates = 0;
    let events = 0;
    for (const line of trace.lines) {
      const n = normalizeFalcoJson(JSON.parse(line), 'file');
      if (!n.ok) continue;
      events++;
      const cs = rules.candidates(n.event);
      candidates += cs.length;
      for (const r of rules.rules) if (r.enabled && r.matches(n.event)) expect(cs).toContain(r);
    }
    expect(events).toBe(trace.lines.length);
    expect(candidates).toBeGreaterThan(0);
    expect(candidates / trace.lines.length).toBeLessThan(rules.enabledCount / 2);
  });
});
