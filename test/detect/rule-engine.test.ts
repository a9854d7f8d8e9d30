/**
 * The rule engine evaluates each event type's predicates in one batch and runs only the rules
 * that had one hold: it must raise what running every rule on its own would.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import type { FalcoEvent } from '../../src/core/event.js';
import type { DetectionRule } from '../../src/rules/compiler/detection-rule.js';
import { loadDetectionRules } from '../../src/rules/compiler/stateful.js';
import { DEFAULT_BOUNDS, RuleEngine } from '../../src/detect/rule-engine.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { HAVE_SHARED, REPO_ROOT, SHARED_DIR } from '../support/shared.js';
import { falcoEvent, scenarioEvents } from '../support/events.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

/** A feed event `ms` milliseconds into the test's event time. */
const feedEvent = (ms: number, fields: Record<string, unknown>): FalcoEvent =>
  falcoEvent({ tags: ['lanner_feed'], timeNs: 1_700_000_000_000_000_000n + BigInt(ms) * 1_000_000n, fields });

// A symlink planted in /tmp by a user, then opened by root: the tmp race the reload tests keep half-way.
const plant = feedEvent(0, { 'evt.type': 'symlinkat', 'user.uid': 1000, 'evt.arg.linkpath': '/tmp/x' });
const rootOpens = feedEvent(500, { 'evt.type': 'openat', 'user.uid': 0, 'fd.name': '/tmp/x' });

/** One rule file, written anew before each load as an operator edits it before a reload. */
function ruleFile(): (text: string) => DetectionRule[] {
  const d = tempDir('engine');
  return (text) => {
    writeFileSync(join(d, 'r.yaml'), text);
    return [...loadDetectionRules([d], DEFAULT_BOUNDS).rules];
  };
}

describe('RuleEngine', () => {
  it.skipIf(!HAVE_SHARED)("raises, for every stateless rule, the alerts of matching each rule on its own (Falco's rules and the shipped ones)", () => {
    const files = ['falco_rules.yaml', 'falco-incubating_rules.yaml', 'falco-sandbox_rules.yaml'].map((f) => join(SHARED_DIR, 'falco-rules', f));
    const { rules } = loadDetectionRules([...files, join(REPO_ROOT, 'rules')], DEFAULT_BOUNDS);
    const engine = new RuleEngine(rules, { metrics: createMetrics({ processMetrics: false }) });
    const stateless = rules.filter((r) => !r.stateful);
    let alerts = 0;
    for (const event of scenarioEvents()) {
      const out: Alert[] = [];
      engine.process(event, out);
      const type = event.fields['evt.type'];
      const want = event.feed
        ? stateless.filter((r) => r.source === event.source && (r.eventTypes === undefined || (typeof type === 'string' && r.eventTypes.has(type))) && r.matches(event)).map((r) => r.name)
        : [];
      const statelessNames = new Set(stateless.map((r) => r.name));
      // (typed rules come before the rules of any type, each in definition order)
      expect(out.map((a) => a.rule).filter((n) => statelessNames.has(n)).sort()).toEqual(want.sort());
      alerts += out.length;
    }
    expect(alerts).toBeGreaterThan(10);
  });

  it('keeps a sequence half-way across a reload of unchanged rules, and completes it', () => {
    const rules = `
- rule: Plant then open
  sequence:
    within: 10s
    steps:
      - { condition: "evt.type = symlinkat and user.uid != 0", by: [evt.arg.linkpath] }
      - { condition: "evt.type = openat and user.uid = 0", by: [fd.name] }
  output: opened %fd.name
  priority: WARNING
- rule: Root opens
  condition: evt.type = openat and user.uid = 0
  output: root opened %fd.name
  priority: NOTICE
`;
    const load = ruleFile();
    const metrics = createMetrics({ processMetrics: false });
    const before = new RuleEngine(load(rules), { metrics });
    const out: Alert[] = [];
    before.process(plant, out);
    expect(out).toEqual([]);
    // A reload compiles the rules again: the kept sequence brings its steps from the first load.
    const after = new RuleEngine(load(rules), { metrics }, before);
    after.process(rootOpens, out);
    expect(out.map((a) => [a.rule, a.output])).toEqual([
      ['Plant then open', 'opened /tmp/x'],
      ['Root opens', 'root opened /tmp/x'],
    ]);
  });

  it('starts a sequence afresh when a macro one of its steps uses changes, so no step keeps the old meaning', () => {
    const rules = (opener: string) => `
- macro: opener
  condition: ${opener}
- rule: Plant then open
  sequence:
    within: 10s
    steps:
      - { condition: "evt.type = symlinkat and user.uid != 0", by: [evt.arg.linkpath] }
      - { condition: "evt.type = openat and opener", by: [fd.name] }
  output: opened %fd.name
  priority: WARNING
`;
    const load = ruleFile();
    const metrics = createMetrics({ processMetrics: false });
    const v1 = load(rules('user.uid = 0'));
    const before = new RuleEngine(v1, { metrics });
    const out: Alert[] = [];
    before.process(plant, out);
    const v2 = load(rules('user.uid = 1000'));
    expect(v2[0]!.fingerprint).not.toBe(v1[0]!.fingerprint);
    const after = new RuleEngine(v2, { metrics }, before);
    after.process(rootOpens, out);
    expect(out).toEqual([]);
  });

  it('keeps a learned baseline across a reload that only edits its output, and starts afresh when its keys change', () => {
    const rules = (output: string, learn = 'proc.name') => `
- rule: New process in workload
  condition: evt.type = execve
  baseline: { by: [container.image.repository], learn: [${learn}], period: 1m }
  output: ${output}
  priority: NOTICE
`;
    const load = ruleFile();
    const metrics = createMetrics({ processMetrics: false });
    const exec = (ms: number, proc: string) => feedEvent(ms, { 'evt.type': 'execve', 'proc.name': proc, 'proc.exepath': `/bin/${proc}`, 'container.image.repository': 'shop/api' });
    const out: Alert[] = [];
    const learning = new RuleEngine(load(rules('new process %proc.name')), { metrics });
    learning.process(exec(0, 'node'), out);
    const edited = new RuleEngine(load(rules('unexpected process %proc.name in %container.image.repository')), { metrics }, learning);
    edited.process(exec(120_000, 'node'), out);
    edited.process(exec(120_001, 'sh'), out);
    expect(out.map((a) => a.output)).toEqual(['unexpected process sh in shop/api (never seen for this workload: sh)']);
    out.length = 0;
    // Learning another field is another profile: it learns again, silently, for its period.
    const rekeyed = new RuleEngine(load(rules('new process %proc.name', 'proc.exepath')), { metrics }, edited);
    rekeyed.process(exec(130_000, 'nc'), out);
    expect(out).toEqual([]);
  });
  it('does not let one event from a clock days ahead expire windows and profiles, yet follows a real jump', () => {
    const load = ruleFile();
    const rules = load(`
- rule: Shell connects and keeps the socket
  sequence:
    within: 5s
    steps:
      - { condition: evt.type = execve, by: proc.pid }
      - { condition: evt.type = connect, by: proc.pid }
    absent: { condition: evt.type = close, within: 10s }
  output: shell %proc.pid kept its socket
  priority: WARNING
- rule: New process in workload
  condition: evt.type = execve
  baseline: { by: [container.image.repository], learn: [proc.name], period: 1h }
  output: new process %proc.name
  priority: NOTICE
`);
    const engine = new RuleEngine(rules, { metrics: createMetrics({ processMetrics: false }) });
    const out: Alert[] = [];
    const at = (ms: number, fields: Record<string, unknown>) => engine.process(feedEvent(ms, { 'container.image.repository': 'shop/api', ...fields }), out);
    const DAY = 86_400_000;
    at(0, { 'evt.type': 'execve', 'proc.pid': 1, 'proc.name': 'node' });
    at(1000, { 'evt.type': 'connect', 'proc.pid': 1 });
    at(8 * DAY, { 'evt.type': 'openat', 'proc.pid': 99 }); // one skewed event
    at(3000, { 'evt.type': 'close', 'proc.pid': 1 }); // the close came in time
    at(2 * 3_600_000, { 'evt.type': 'execve', 'proc.pid': 2, 'proc.name': 'nc' }); // the baseline still knows node
    expect(out.map((a) => a.output)).toEqual(['new process nc (never seen for this workload: nc)']);
    // Time that really jumps (a gap in a replay) is followed once a second event confirms it.
    out.length = 0;
    at(3 * DAY, { 'evt.type': 'execve', 'proc.pid': 3, 'proc.name': 'node' });
    at(3 * DAY + 1, { 'evt.type': 'connect', 'proc.pid': 3 });
    for (let ms = 3 * DAY + 1000; ms <= 3 * DAY + 20_000; ms += 1000) at(ms, { 'evt.type': 'openat', 'proc.pid': 98 });
    expect(out.map((a) => a.output)).toEqual(['shell 3 kept its socket']);
    // At the end of the input, a last event far ahead counts: nothing could confirm it later.
    out.length = 0;
    at(3 * DAY + 30_000, { 'evt.type': 'execve', 'proc.pid': 4, 'proc.name': 'node' });
    at(3 * DAY + 30_001, { 'evt.type': 'connect', 'proc.pid': 4 });
    at(3 * DAY + 3_600_000, { 'evt.type': 'openat', 'proc.pid': 98 });
    engine.sweep(out);
    expect(out).toEqual([]);
    engine.end(out);
    expect(out.map((a) => a.output)).toEqual(['shell 4 kept its socket']);
  });
  it('counts a step that arrives a little out of order, whatever the other traffic did meanwhile', () => {
    const load = ruleFile();
    const rules = load(`
- rule: Plant then open
  sequence:
    within: 5s
    steps:
      - { condition: evt.type = symlinkat and user.uid != 0, by: evt.arg.linkpath }
      - { condition: evt.type = openat and user.uid = 0, by: fd.name }
  output: root opened %fd.name
  priority: CRITICAL
`);
    const run = (events: FalcoEvent[]): number => {
      const engine = new RuleEngine(rules, { metrics: createMetrics({ processMetrics: false }) });
      const out: Alert[] = [];
      for (const e of events) engine.process(e, out);
      engine.end(out);
      return out.length;
    };
    const other = (ms: number) => feedEvent(ms, { 'evt.type': 'close' });
    const lateOpen = feedEvent(4999, { 'evt.type': 'openat', 'user.uid': 0, 'fd.name': '/tmp/x' });
    // the open, stamped within the window, arrives after an event of another source at 5002
    expect(run([plant, other(5002), lateOpen])).toBe(1);
    expect(run([plant, other(4500), other(5002), lateOpen])).toBe(1);
    // beyond the allowed lateness it is too late, as the window has been swept
    expect(run([plant, other(8000), lateOpen])).toBe(0);
  });

  it('gives an alert the same id when the same events are replayed, and different alerts different ids', () => {
    const rules = ruleFile()(`
- rule: Root opens
  condition: evt.type = openat and user.uid = 0
  output: root opened %fd.name
  priority: NOTICE
- rule: Opens by anyone
  condition: evt.type = openat
  output: opened %fd.name
  priority: NOTICE
- rule: Three opens
  condition: evt.type = openat
  threshold: { count: 3, within: 10s, by: [container.id] }
  output: three opens in %container.id
  priority: WARNING
`);
    const events = [0, 1, 2, 3, 4, 5].map((i) => feedEvent(i * 100, { 'evt.type': 'openat', 'user.uid': i % 2 === 0 ? 0 : 1000, 'fd.name': `/etc/f${i % 3}`, 'container.id': 'c1' }));
    const replay = (): Alert[] => {
      const engine = new RuleEngine(rules, { metrics: createMetrics({ processMetrics: false }), ingestedAtMs: () => performance.now() });
      const out: Alert[] = [];
      for (const e of events) engine.process(e, out);
      engine.end(out);
      return out;
    };
    const first = replay();
    expect(first.map((a) => a.rule)).toEqual([
      'Root opens', 'Opens by anyone',
      'Opens by anyone',
      'Root opens', 'Opens by anyone', 'Three opens',
      'Opens by anyone',
      'Root opens', 'Opens by anyone',
      'Opens by anyone', 'Three opens',
    ]);
    // Replayed, whenever: the same ids in the same order.
    expect(replay().map((a) => a.id)).toEqual(first.map((a) => a.id));
    // Two rules on one event, one rule on two events, two bursts of one threshold: all apart.
    expect(new Set(first.map((a) => a.id)).size).toBe(first.length);
  });
});
