/**
 * Rule test files: the events an attack (or a benign look-alike) produces, and exactly the
 * alerts the rules must raise for them. This is how users test their own rules in CI.
 *
 *   rules: [../shell_spawn.yaml]         # relative to the test file
 *   defaults: { container.id: c1 }       # fields merged into every event (a case may add its own)
 *   tests:
 *     - name: kubectl exec -it gives one alert
 *       events:                          # each item is an event's output_fields; `at: 1.5s` is reserved
 *         - { evt.type: execve, proc.name: sh, proc.pname: runc }
 *       events_file: fixtures/x.jsonl    # or Falco JSON lines, relative to the test file
 *       expect:                          # exactly these alerts; count defaults to 1
 *         - { rule: Terminal shell in container, count: 1 }
 *         - { rule: Shell in container, count: 0 }   # a look-alike of this rule: it stays silent
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Alert } from '../alerts/alert.js';
import type { FalcoEvent } from '../core/event.js';
import { parseDurationMs } from '../config/units.js';
import { formatRfc3339Ns } from '../core/time.js';
import { normalizeJsonLine } from '../ingest/json-lines.js';
import { normalizeFalcoJson } from '../ingest/normalize.js';
import { createMetrics } from '../metrics/metrics.js';
import type { DetectionRule } from './detection-rule.js';
import { RuleEngine } from './rule-engine.js';

export type RuleLoader = (paths: readonly string[]) => { readonly rules: readonly DetectionRule[]; readonly errors: readonly string[] };

export interface CaseResult {
  readonly file: string;
  readonly name: string;
  readonly passed: boolean;
  /** What differed, one line each; empty when passed. */
  readonly failures: readonly string[];
  readonly alerts: readonly Alert[];
}

/** When test events start, unless a case says otherwise: a fixed instant keeps runs repeatable. */
const BASE_TIME_NS = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z

type Raw = Record<string, unknown>;

function isRaw(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Runs every case of one test file. `cliRules` apply when the file names no rules of its own. */
export function runRuleTestFile(file: string, load: RuleLoader, cliRules: readonly string[] = []): CaseResult[] {
  const dir = dirname(file);
  const doc: unknown = parse(readFileSync(file, 'utf8'));
  if (!isRaw(doc) || !Array.isArray(doc['tests'])) return [fileProblem(file, 'a rule test file needs a `tests:` list')];
  const rulePaths = Array.isArray(doc['rules']) ? doc['rules'].map((p) => resolve(dir, String(p))) : [...cliRules];
  if (rulePaths.length === 0) return [fileProblem(file, 'no rules: name them under `rules:` or on the command line')];
  const loaded = load(rulePaths);
  if (loaded.errors.length > 0) return [fileProblem(file, `the rules do not load:\n${loaded.errors.join('\n')}`)];
  const fileDefaults = isRaw(doc['defaults']) ? doc['defaults'] : {};
  return (doc['tests'] as unknown[]).map((item, i) => runCase(file, dir, item, i, fileDefaults, loaded.rules));
}

function fileProblem(file: string, message: string): CaseResult {
  return { file, name: '(file)', passed: false, failures: [message], alerts: [] };
}

function runCase(file: string, dir: string, item: unknown, index: number, fileDefaults: Raw, rules: readonly DetectionRule[]): CaseResult {
  const name = isRaw(item) && typeof item['name'] === 'string' ? item['name'] : `case ${index + 1}`;
  const fail = (message: string): CaseResult => ({ file, name, passed: false, failures: [message], alerts: [] });
  if (!isRaw(item)) return fail('a test case must be a mapping');
  let events: FalcoEvent[];
  try {
    events = eventsOf(item, dir, { ...fileDefaults, ...(isRaw(item['defaults']) ? item['defaults'] : {}) });
  } catch (err) {
    return fail((err as Error).message);
  }
  if (!Array.isArray(item['expect'])) return fail('`expect:` is required: a list of { rule, count }, or [] for silence');
  const expected = new Map<string, number>();
  const known = new Set(rules.map((r) => r.name));
  for (const e of item['expect'] as unknown[]) {
    if (!isRaw(e) || typeof e['rule'] !== 'string') return fail('each `expect` item needs a `rule` name');
    // `count: 0` says a rule stays silent: a misspelt name would make that pass without checking anything.
    if (!known.has(e['rule'])) return fail(`expect: no loaded rule is named ${JSON.stringify(e['rule'])}`);
    expected.set(e['rule'], (expected.get(e['rule']) ?? 0) + (typeof e['count'] === 'number' ? e['count'] : 1));
  }
  const engine = new RuleEngine(rules, { metrics: createMetrics({ processMetrics: false }) });
  const alerts: Alert[] = [];
  for (const event of events) engine.process(event, alerts);
  engine.sweep(alerts);
  const got = new Map<string, number>();
  for (const a of alerts) got.set(a.rule, (got.get(a.rule) ?? 0) + 1);
  const failures: string[] = [];
  for (const rule of new Set([...expected.keys(), ...got.keys()])) {
    const want = expected.get(rule) ?? 0;
    const have = got.get(rule) ?? 0;
    if (want !== have) failures.push(`${rule}: expected ${want} alert${want === 1 ? '' : 's'}, got ${have}`);
  }
  return { file, name, passed: failures.length === 0, failures, alerts };
}

function eventsOf(item: Raw, dir: string, defaults: Raw): FalcoEvent[] {
  const events: FalcoEvent[] = [];
  if (typeof item['events_file'] === 'string') {
    const path = resolve(dir, item['events_file']);
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.trim() === '') return;
        const r = normalizeJsonLine(line);
        if (!r.ok) throw new Error(`${path}:${i + 1}: ${r.reason}: ${r.detail}`);
        events.push(r.event);
      });
  }
  if (item['events'] !== undefined) {
    if (!Array.isArray(item['events'])) throw new Error('`events:` must be a list of field mappings');
    let atMs = 0;
    (item['events'] as unknown[]).forEach((raw, i) => {
      if (!isRaw(raw)) throw new Error(`events[${i}] must be a mapping of fields`);
      const { at, ...fields } = raw;
      if (at !== undefined) {
        const ms = parseDurationMs(at);
        if (ms === undefined) throw new Error(`events[${i}].at: ${JSON.stringify(at)} is not a duration such as 1.5s`);
        atMs = ms;
      } else if (i > 0) {
        atMs += 1;
      }
      events.push(feedEvent({ ...defaults, ...fields }, atMs, i));
    });
  }
  if (events.length === 0) throw new Error('a case needs `events:` or `events_file:`');
  return events;
}

function feedEvent(fields: Raw, atMs: number, index: number): FalcoEvent {
  const timeNs = BASE_TIME_NS + BigInt(Math.round(atMs * 1e6));
  const type = typeof fields['evt.type'] === 'string' ? fields['evt.type'] : 'unknown';
  const r = normalizeFalcoJson(
    {
      time: formatRfc3339Ns(timeNs),
      rule: `Lanner feed: ${type}`,
      priority: 'Debug',
      source: 'syscall',
      hostname: 'test-node',
      tags: ['lanner_feed'],
      output: '',
      output_fields: { 'evt.time': timeNs, ...(fields as Record<string, never>) },
    },
    'file',
  );
  if (!r.ok) throw new Error(`events[${index}]: ${r.detail}`);
  return r.event;
}
