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
 *
 * Any other key, or a key of the wrong type, fails its case (or the whole file, for a
 * file-wide key) with `file:line:col: key: problem`, as does a file that is not valid YAML.
 */
import { dirname, resolve } from 'node:path';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import type { FalcoEvent } from '../core/event.js';
import { readTextFileSync, type ReadLimits } from '../core/read-file.js';
import { parseDurationMs } from '../core/units.js';
import { formatRfc3339Ns } from '../core/time.js';
import { normalizeJsonLine } from '../ingest/json-lines.js';
import { normalizeFalcoJson } from '../ingest/normalize.js';
import { createMetrics } from '../metrics/metrics.js';
import type { DetectionRule } from '../rules/compiler/detection-rule.js';
import { RuleEngine } from '../detect/rule-engine.js';

/** A rule test file is read as a rule file is, with the same limit. */
export const TEST_FILE_LIMITS: ReadLimits = { maxBytes: 4 * 1024 * 1024, what: 'rule test file' };
/** Events files hold recorded Falco output: larger, and still bounded. */
export const EVENTS_FILE_LIMITS: ReadLimits = { maxBytes: 64 * 1024 * 1024, what: 'events file' };

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

// The format is strict: a test that reads a malformed key as its default (`count: "2"` as 1, a
// misspelt `expect`) would pass without checking what its author meant.
const required = (what: string) => (issue: { input?: unknown }) => (issue.input === undefined ? `is required: ${what}` : `must be ${what}`);
const FIELDS = 'a mapping of event fields, e.g. { container.id: c1 }';
const COUNT = 'a whole number of alerts, 0 or more';
const fields = z.record(z.string(), z.unknown(), { error: `must be ${FIELDS}` });

const eventSchema = fields.superRefine((fieldsOf, ctx) => {
  if ('at' in fieldsOf && parseDurationMs(fieldsOf['at']) === undefined) {
    ctx.addIssue({ code: 'custom', path: ['at'], input: fieldsOf['at'], message: 'must be a duration from the start of the case, such as 1.5s' });
  }
});

const expectSchema = z.strictObject(
  {
    rule: z.string({ error: required('the name of a loaded rule') }).min(1, { error: 'must be the name of a loaded rule' }),
    count: z.number({ error: `must be ${COUNT}` }).int({ error: `must be ${COUNT}` }).min(0, { error: `must be ${COUNT}` }).optional(),
  },
  { error: 'must be a mapping { rule: NAME, count: N }' },
);

const caseSchema = z
  .strictObject(
    {
      name: z.string({ error: 'must be text' }).optional(),
      defaults: fields.optional(),
      events: z.array(eventSchema, { error: `must be a list, each item ${FIELDS}` }).optional(),
      events_file: z.string({ error: 'must be a path to Falco JSON lines, relative to the test file' }).min(1, { error: 'must be a path' }).optional(),
      expect: z.array(expectSchema, { error: required('a list of { rule, count }, or [] for silence') }),
    },
    { error: 'a test case must be a mapping with events: and expect:' },
  )
  .superRefine((c, ctx) => {
    if (c.events_file === undefined && (c.events ?? []).length === 0) ctx.addIssue({ code: 'custom', input: c, message: 'a case needs `events:` or `events_file:`' });
  });

const fileSchema = z.strictObject(
  {
    rules: z.array(z.string({ error: 'must be a rule file path' }).min(1, { error: 'must be a rule file path' }), { error: 'must be a list of rule files, relative to the test file' }).optional(),
    defaults: fields.optional(),
    // A file that tests nothing would pass in CI without checking anything.
    tests: z.array(z.unknown(), { error: required('a list of test cases') }).min(1, { error: 'has no test cases: a file that tests nothing cannot pass' }),
  },
  { error: 'a rule test file must be a mapping with a `tests:` list' },
);

type TestCase = z.infer<typeof caseSchema>;
type Path = readonly PropertyKey[];

/** The keys each mapping of the format takes, for messages about an unknown one. */
function knownKeys(path: Path): readonly string[] {
  if (path.length === 0) return Object.keys(fileSchema.shape);
  if (path.length === 2 && path[0] === 'tests') return Object.keys(caseSchema.shape);
  if (path.at(-2) === 'expect') return Object.keys(expectSchema.shape);
  return [];
}

/** Turns paths into the document into `file:line:col` of the node concerned. */
class Places {
  constructor(
    readonly file: string,
    private readonly text: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  offset(offset: number): string {
    const { line, col } = this.lines.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return `${this.file}:${line}:${col}`;
  }

  /**
   * The node at `path` (with `key`, the key itself rather than its value), or the nearest one
   * that exists: a missing key is reported at its mapping, an empty value at its key.
   */
  find(path: Path, key?: string): { node: Node | undefined; exact: boolean } {
    let node: unknown = this.doc.contents;
    let found: Node | undefined = isNode(node) ? node : undefined;
    const steps = key === undefined ? path : [...path, key];
    for (const [i, step] of steps.entries()) {
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
        const value = pair?.value;
        const empty = !isNode(value) || !value.range || value.range[0] === value.range[1];
        if (pair && (empty || (key !== undefined && i === steps.length - 1))) return { node: pair.key as Node, exact: key !== undefined && i === steps.length - 1 };
        next = value;
      } else if (isSeq(node) && typeof step === 'number') next = node.items[step];
      if (!isNode(next)) return { node: found, exact: false };
      node = found = next;
    }
    return { node: found, exact: true };
  }

  at(path: Path, key?: string): string {
    return this.offset(this.find(path, key).node?.range?.[0] ?? 0);
  }

  /** A scalar as written in the file (`"2"` keeps its quotes), for "got ..." in messages. */
  written(path: Path): string | undefined {
    const { node, exact } = this.find(path);
    if (!exact || !isScalar(node) || !node.range) return undefined;
    const text = this.text.slice(node.range[0], node.range[1]).trim();
    if (text === '' || text.length > 60) return undefined;
    return typeof node.value === 'string' && !/^["']/.test(text) ? JSON.stringify(text) : text;
  }

  /** One `file:line:col: key: message` line per problem zod found, in file order. */
  describe(issues: readonly z.core.$ZodIssue[], prefix: Path): string[] {
    const out: { offset: number; line: string }[] = [];
    const add = (path: Path, key: string | undefined, message: string): void => {
      const offset = this.find(path, key).node?.range?.[0] ?? 0;
      const name = keyPath(key === undefined ? path : [...path, key]);
      out.push({ offset, line: `${this.offset(offset)}: ${name === '' ? '' : `${name}: `}${message}` });
    };
    for (const issue of issues) {
      const path = [...prefix, ...issue.path];
      if (issue.code === 'unrecognized_keys') {
        const known = knownKeys(path);
        for (const k of issue.keys) add(path, k, `unknown key${known.length > 0 ? ` (expected one of ${known.join(', ')})` : ''}`);
        continue;
      }
      const got = this.written(path);
      add(path, undefined, `${issue.message}${got === undefined ? '' : `, got ${got}`}`);
    }
    return out.sort((a, b) => a.offset - b.offset).map((o) => o.line);
  }
}

/** `tests[0].expect[1].count`, as a person would name the key. */
function keyPath(path: Path): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

/** Runs every case of one test file. `cliRules` apply when the file names no rules of its own. */
export function runRuleTestFile(file: string, load: RuleLoader, cliRules: readonly string[] = []): CaseResult[] {
  const dir = dirname(file);
  let text: string;
  try {
    text = readTextFileSync(file, TEST_FILE_LIMITS);
  } catch (err) {
    return [fileProblem(file, [`${file}: ${(err as Error).message}`])];
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const places = new Places(file, text, doc, lines);
  if (doc.errors.length > 0) return [fileProblem(file, doc.errors.map((e) => `${places.offset(e.pos[0])}: ${e.message.split('\n')[0]!}`))];
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    return [fileProblem(file, [`${places.offset(0)}: ${(err as Error).message}`])];
  }
  const top = fileSchema.safeParse(data, { reportInput: true });
  const items: unknown[] = isRaw(data) && Array.isArray(data['tests']) ? data['tests'] : [];
  const cases = items.map((item, i) => {
    const r = caseSchema.safeParse(item, { reportInput: true });
    return { item, index: i, parsed: r.success ? r.data : undefined, problems: r.success ? [] : places.describe(r.error.issues, ['tests', i]) };
  });
  // A malformed file-wide key (rules, defaults) changes every case: none of them is run.
  if (!top.success) return [fileProblem(file, [...places.describe(top.error.issues, []), ...cases.flatMap((c) => c.problems)])];
  const rulePaths = top.data.rules !== undefined ? top.data.rules.map((p) => resolve(dir, p)) : [...cliRules];
  if (rulePaths.length === 0) return [fileProblem(file, [`${places.at(top.data.rules ? ['rules'] : [])}: no rules: name them under \`rules:\` or on the command line`])];
  const loaded = load(rulePaths);
  if (loaded.errors.length > 0) return [fileProblem(file, [`the rules do not load:\n${loaded.errors.join('\n')}`])];
  const fileDefaults = top.data.defaults ?? {};
  return cases.map((c) => {
    const name = isRaw(c.item) && typeof c.item['name'] === 'string' ? c.item['name'] : `case ${c.index + 1}`;
    if (!c.parsed) return { file, name, passed: false, failures: c.problems, alerts: [] };
    return runCase(places, dir, c.parsed, name, ['tests', c.index], fileDefaults, loaded.rules);
  });
}

function fileProblem(file: string, failures: readonly string[]): CaseResult {
  return { file, name: '(file)', passed: false, failures, alerts: [] };
}

function runCase(places: Places, dir: string, item: TestCase, name: string, path: Path, fileDefaults: Raw, rules: readonly DetectionRule[]): CaseResult {
  const fail = (failures: readonly string[]): CaseResult => ({ file: places.file, name, passed: false, failures, alerts: [] });
  // `count: 0` says a rule stays silent: a misspelt name would make that pass without checking anything.
  const known = new Set(rules.map((r) => r.name));
  const unknown = item.expect.flatMap((e, i) =>
    known.has(e.rule) ? [] : [`${places.at([...path, 'expect', i, 'rule'])}: expect: no loaded rule is named ${JSON.stringify(e.rule)}`],
  );
  if (unknown.length > 0) return fail(unknown);
  let events: FalcoEvent[];
  try {
    events = eventsOf(places, item, path, dir, { ...fileDefaults, ...(item.defaults ?? {}) });
  } catch (err) {
    return fail([(err as Error).message]);
  }
  const expected = new Map<string, number>();
  for (const e of item.expect) expected.set(e.rule, (expected.get(e.rule) ?? 0) + (e.count ?? 1));
  const engine = new RuleEngine(rules, { metrics: createMetrics({ processMetrics: false }) });
  const alerts: Alert[] = [];
  for (const event of events) engine.process(event, alerts);
  engine.end(alerts);
  const got = new Map<string, number>();
  for (const a of alerts) got.set(a.rule, (got.get(a.rule) ?? 0) + 1);
  const failures: string[] = [];
  for (const rule of new Set([...expected.keys(), ...got.keys()])) {
    const want = expected.get(rule) ?? 0;
    const have = got.get(rule) ?? 0;
    if (want !== have) failures.push(`${rule}: expected ${want} alert${want === 1 ? '' : 's'}, got ${have}`);
  }
  return { file: places.file, name, passed: failures.length === 0, failures, alerts };
}

function eventsOf(places: Places, item: TestCase, path: Path, dir: string, defaults: Raw): FalcoEvent[] {
  const events: FalcoEvent[] = [];
  if (item.events_file !== undefined) {
    const file = resolve(dir, item.events_file);
    let text: string;
    try {
      text = readTextFileSync(file, EVENTS_FILE_LIMITS);
    } catch (err) {
      throw new Error(`${places.at([...path, 'events_file'])}: events_file: cannot read ${file}: ${(err as Error).message}`);
    }
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const r = normalizeJsonLine(line);
      if (!r.ok) throw new Error(`${file}:${i + 1}: ${r.reason}: ${r.detail}`);
      events.push(r.event);
    });
  }
  let atMs = 0;
  (item.events ?? []).forEach((raw, i) => {
    const { at, ...fields } = raw;
    // The schema has checked `at`; events without one follow the previous event by 1 ms.
    if (at !== undefined) atMs = parseDurationMs(at)!;
    else if (i > 0) atMs += 1;
    const r = feedEvent({ ...defaults, ...fields }, atMs);
    if (!r.ok) throw new Error(`${places.at([...path, 'events', i])}: events[${i}]: ${r.detail}`);
    events.push(r.event);
  });
  if (events.length === 0) throw new Error(`${places.at([...path, 'events_file'])}: the case has no events: ${item.events_file ?? ''} is empty`);
  return events;
}

function feedEvent(fields: Raw, atMs: number): ReturnType<typeof normalizeFalcoJson> {
  const timeNs = BASE_TIME_NS + BigInt(Math.round(atMs * 1e6));
  const type = typeof fields['evt.type'] === 'string' ? fields['evt.type'] : 'unknown';
  return normalizeFalcoJson(
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
}
