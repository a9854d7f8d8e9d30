/**
 * Every string of an event is the sender's choice. Names that a plain object answers from its
 * prototype (`constructor`, `__proto__`, ...) are sent through every string position of an
 * event (rule, source, tags, priority, each output_fields key and value, hostname) into the rule
 * engine, the alert lifecycle and the action engine in dry run, with config tables keyed by the
 * same names: nothing may throw, and the alerts still come out.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ActionEngine } from '../../src/actions/action-engine.js';
import { AUDIT_RULE } from '../../src/actions/audit.js';
import { defaultActionsOptions } from '../../src/actions/options.js';
import type { Alert } from '../../src/alerts/alert.js';
import { FORMATS } from '../../src/alerts/formats/index.js';
import { parseAlertsConfig } from '../../src/alerts/lifecycle/config.js';
import { AlertLifecycle, alertLifecycle, lifecycleMetrics } from '../../src/alerts/lifecycle/lifecycle.js';
import type { FalcoEvent } from '../../src/core/event.js';
import { silentLogger } from '../../src/core/log.js';
import { formatRfc3339Ns } from '../../src/core/time.js';
import { alertConditionCompiler } from '../../src/detect/alert-conditions.js';
import { detectionPipeline } from '../../src/detect/pipeline.js';
import { ruleDetector } from '../../src/detect/rule-detector.js';
import { DEFAULT_BOUNDS, RuleEngine } from '../../src/detect/rule-engine.js';
import { normalizeFalcoJson } from '../../src/ingest/normalize.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { loadDetectionRules } from '../../src/rules/compiler/stateful.js';

/** Names a plain object answers from Object.prototype, or that reach the prototype itself. */
const PROTOTYPE_KEYS = [
  'constructor',
  '__proto__',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  'prototype',
  '__defineGetter__',
  '__lookupGetter__',
] as const;

/**
 * The names config tables are keyed by: every other one, so that lookups meet both a name
 * that is a key of its own and one that is not (which a plain object answers from Object.prototype).
 */
const IN_CONFIG: readonly string[] = PROTOTYPE_KEYS.filter((_, i) => i % 2 === 0);

const T0 = 1_763_990_696_000_000_000n;
const MINUTE = 60_000_000_000n;

const RULES = `
- rule: Shell in container
  desc: a shell ran in a container
  condition: evt.type = execve and proc.name = sh
  output: shell %proc.name (%proc.cmdline) pid %proc.pid as %user.name in %container.id %k8s.ns.name/%k8s.pod.name fd %fd.name %fd.typechar %evt.type
  priority: WARNING
  tags: [container, shell_spawn, mitre_execution, T1059.004]
  actions: [contain]
- rule: Execs from one container
  desc: two execs from one container within a minute
  condition: evt.type = execve
  threshold: { count: 2, within: 1m, by: [container.id] }
  output: execs in %container.id by %proc.name
  priority: NOTICE
  tags: [container]
- rule: Exec then open of the same name
  desc: a process ran, then a file of its name was opened
  sequence:
    within: 1m
    steps:
      - { condition: "evt.type = execve", by: [proc.name] }
      - { condition: "evt.type = openat", by: [fd.name] }
  output: opened %fd.name after running it
  priority: NOTICE
`;

/** A Falco alert of Falco's own rules (passed through), in a container of its own. */
function falcoAlert(i: number): Record<string, unknown> {
  return {
    time: formatRfc3339Ns(T0 + BigInt(i) * 3n * MINUTE),
    rule: 'Terminal shell in container',
    priority: 'Notice',
    source: 'syscall',
    hostname: 'worker-1',
    tags: ['container', 'shell', 'mitre_execution', 'T1059'],
    output: `A shell was spawned in container c${i}`,
    output_fields: fields(i),
  };
}

/** A feed event the Lanner rules above match: an exec of a shell, and (step two) an open. */
function feedEvent(i: number, type: 'execve' | 'openat'): Record<string, unknown> {
  return {
    time: formatRfc3339Ns(T0 + BigInt(i) * 3n * MINUTE + (type === 'openat' ? 1_000_000n : 0n)),
    rule: 'Lanner feed: exec',
    priority: 'Debug',
    source: 'syscall',
    hostname: 'worker-1',
    tags: ['lanner_feed'],
    output: '',
    output_fields: { ...fields(i), 'evt.type': type },
  };
}

function fields(i: number): Record<string, unknown> {
  return {
    'evt.time': T0 + BigInt(i) * 3n * MINUTE,
    'evt.type': 'execve',
    'proc.name': 'sh',
    'proc.cmdline': 'sh -i',
    'proc.pid': 4242,
    'proc.pname': 'nginx',
    'user.name': 'root',
    'user.uid': 0,
    'fd.name': 'sh',
    'fd.type': 'file',
    'container.id': `c${String(i).padStart(11, '0')}`,
    'container.name': 'web',
    'container.image.repository': 'nginx',
    'k8s.ns.name': 'shop',
    'k8s.pod.name': `web-${i}`,
  };
}

/** Sets a member so that it is the object's own, even one named `__proto__`, as JSON.parse makes it. */
function put(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** One string position of an event, and how to put a hostile name there. */
interface Position {
  readonly name: string;
  readonly apply: (event: Record<string, unknown>, hostile: string) => void;
}

const FIELD_NAMES = Object.keys(fields(0)).filter((f) => f !== 'evt.time');

const POSITIONS: readonly Position[] = [
  { name: 'rule', apply: (e, h) => put(e, 'rule', h) },
  { name: 'source', apply: (e, h) => put(e, 'source', h) },
  { name: 'tags', apply: (e, h) => put(e, 'tags', [...(e['tags'] as string[]), h, `mitre_${h}`]) },
  { name: 'priority', apply: (e, h) => put(e, 'priority', h) },
  { name: 'hostname', apply: (e, h) => put(e, 'hostname', h) },
  { name: 'output', apply: (e, h) => put(e, 'output', h) },
  { name: 'output_fields key', apply: (e, h) => put(e['output_fields'] as Record<string, unknown>, h, 'x') },
  { name: 'output_fields key with a list', apply: (e, h) => put(e['output_fields'] as Record<string, unknown>, h, ['x', 'y']) },
  ...FIELD_NAMES.map((f): Position => ({ name: `output_fields value of ${f}`, apply: (e, h) => put(e['output_fields'] as Record<string, unknown>, f, h) })),
];

/** What arrives over the wire: the JSON text, parsed as the HTTP receiver parses it, and normalized. */
function overTheWire(event: Record<string, unknown>): ReturnType<typeof normalizeFalcoJson> {
  const text = JSON.stringify(event, (_key, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  return normalizeFalcoJson(JSON.parse(text) as never, 'http');
}

/** A config table keyed by IN_CONFIG, as JSON text so that `__proto__` is a key like any other. */
function hostileTable<T>(value: (name: string) => T): Record<string, T> {
  return JSON.parse(`{${IN_CONFIG.map((k) => `${JSON.stringify(k)}: ${JSON.stringify(value(k))}`).join(',')}}`) as Record<string, T>;
}

function rulesDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lanner-proto-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  return dir;
}

interface Chain {
  readonly run: (events: readonly FalcoEvent[]) => Promise<Alert[]>;
  readonly actions: ActionEngine;
  readonly records: Alert[];
  readonly metricsText: () => Promise<string>;
}

/** The rule engine, the lifecycle and the action engine in dry run, as the service joins them. */
function chain(): Chain {
  const metrics = createMetrics({ processMetrics: false });
  const loaded = loadDetectionRules([rulesDir()], DEFAULT_BOUNDS);
  expect(loaded.problems.filter((p) => p.severity === 'error')).toEqual([]);
  const holder = { current: new RuleEngine(loaded.rules, { metrics }) };
  const alertsConfig = {
    dedup: { keys: { 'Terminal shell in container': ['fd.name', ...PROTOTYPE_KEYS], ...hostileTable(() => ['proc.name', ...PROTOTYPE_KEYS]) } },
    rate_limit: { rules: hostileTable(() => ({ count: 1000, per: '1m' })) },
    runbooks: hostileTable((k) => `https://runbooks.example.com/${encodeURIComponent(k)}`),
    suppress: PROTOTYPE_KEYS.map((k) => ({ name: k, rules: [`${k} (no such rule)`] })),
  };
  const parsed = parseAlertsConfig(alertsConfig, alertConditionCompiler());
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const lifecycle = new AlertLifecycle(parsed.options, lifecycleMetrics(metrics, metrics.alertsSuppressed));
  const records: Alert[] = [];
  const base = defaultActionsOptions();
  const unlimited = 1_000_000;
  const actions = new ActionEngine(
    defaultActionsOptions({
      rules: { ...hostileTable(() => ['contain']), 'Terminal shell in container': ['contain'] },
      profiles: { contain: ['quarantine', 'event'] },
      // Every alert here is decided, so what is checked is the lookups, not the guardrails' limits.
      limits: { ...base.limits, perNode: unlimited, perKind: { pod: unlimited, node: unlimited, process: unlimited, external: unlimited }, cooldownMs: 0 },
    }),
    { logger: silentLogger(), metrics, kube: undefined, node: 'worker-1', sink: (r) => records.push(r) },
  );
  expect(actions.dryRun).toBe(true);
  return {
    run: async (events) => {
      const detected$ = detectionPipeline(from(events), { detectors: [ruleDetector(holder)] });
      const alerts = await lastValueFrom(detected$.pipe(alertLifecycle(lifecycle, { tickMs: 0 }), toArray()));
      for (const a of alerts) actions.handle(a);
      await actions.idle();
      return alerts;
    },
    actions,
    records,
    metricsText: () => metrics.registry.metrics(),
  };
}

describe('prototype keys in every string position of an event', () => {
  it('pass through the rule engine, the lifecycle and the action engine in dry run: nothing throws, alerts come out', async () => {
    const c = chain();
    let i = 0;
    for (const position of POSITIONS) {
      for (const hostile of PROTOTYPE_KEYS) {
        i++;
        const what = `${hostile} as ${position.name}`;
        const forged = [falcoAlert(i), feedEvent(i, 'execve'), feedEvent(i, 'openat')];
        for (const e of forged) position.apply(e, hostile);
        const normalized = forged.map(overTheWire);
        if (position.name === 'priority') {
          // No such priority: each event is refused with its reason, and nothing more happens.
          expect(normalized.map((n) => (n.ok ? 'ok' : n.reason)), what).toEqual(['unknown_priority', 'unknown_priority', 'unknown_priority']);
          continue;
        }
        const events = normalized.map((n) => {
          if (!n.ok) throw new Error(`${what}: refused (${n.reason}: ${n.detail})`);
          return n.event;
        });
        const alerts = await c.run(events);
        // Falco's own alert passes through whatever its strings say.
        expect(alerts.filter((a) => a.origin === 'falco'), what).toHaveLength(1);
        for (const a of alerts) expect(a.id, what).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        // The Lanner rule raises its alert unless the name took the place of what it matches on.
        const matchedOn = ['source', 'output_fields value of evt.type', 'output_fields value of proc.name'];
        if (!matchedOn.includes(position.name)) expect(alerts.map((a) => a.rule), what).toContain('Shell in container');
      }
    }
    // The engines are still whole: an ordinary pair after all of that still alerts and is acted on.
    const before = c.records.length;
    const last = await c.run([falcoAlert(i + 1), feedEvent(i + 1, 'execve')].map((e) => {
      const n = overTheWire(e);
      if (!n.ok) throw new Error(n.detail);
      return n.event;
    }));
    expect(last.map((a) => a.rule).sort()).toEqual(['Shell in container', 'Terminal shell in container']);
    expect(c.records.slice(before).map((r) => [r.rule, r.action?.name, r.action?.outcome])).toEqual([
      [AUDIT_RULE, 'quarantine', 'dry_run'],
      [AUDIT_RULE, 'event', 'dry_run'],
      [AUDIT_RULE, 'quarantine', 'dry_run'],
      [AUDIT_RULE, 'event', 'dry_run'],
    ]);
    await expect(c.metricsText()).resolves.toContain('lanner_alerts_folded_total');
    await c.actions.close();
  });

  it('are no rule, profile or responder of the action engine unless the config names them so', () => {
    const c = chain();
    for (const hostile of PROTOTYPE_KEYS) {
      const alert = { rule: hostile, actions: [hostile] } as unknown as Alert;
      // Listed in actions.rules under that very name, the rule gets its actions; the name itself is no profile.
      expect(c.actions.actionsFor(alert), hostile).toEqual(IN_CONFIG.includes(hostile) ? [hostile, 'quarantine', 'event'] : [hostile]);
      expect(c.actions.actionsFor({ rule: 'Some rule', actions: [hostile] } as unknown as Alert), hostile).toEqual([hostile]);
    }
  });

  it('render in every alert format without throwing', async () => {
    const c = chain();
    let i = 1000;
    for (const position of POSITIONS.filter((p) => p.name !== 'priority')) {
      for (const hostile of PROTOTYPE_KEYS) {
        i++;
        const forged = [falcoAlert(i), feedEvent(i, 'execve')];
        for (const e of forged) position.apply(e, hostile);
        const events = forged.map(overTheWire).flatMap((n) => (n.ok ? [n.event] : []));
        for (const alert of [...(await c.run(events)), ...c.records.splice(0)]) {
          for (const [name, format] of Object.entries(FORMATS)) {
            expect(() => format(alert), `${name} of ${hostile} as ${position.name}`).not.toThrow();
          }
        }
      }
    }
  });
});
