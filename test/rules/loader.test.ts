import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { runRulesLint } from '../../src/cli/rules-lint.js';
import { loadRules, loadRulesSync, lintText } from '../../src/rules/load/loader.js';
import { SourceFile } from '../../src/rules/load/yaml-source.js';
import { RULE_PROBLEM_CODES, formatProblem, type Problem } from '../../src/rules/problems.js';
import { HAVE_SHARED, REPO_ROOT, SHARED_DIR } from '../support/shared.js';
import { event, load } from './helpers.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

const FIXTURES = join(REPO_ROOT, 'test/fixtures/rules');
const fixture = (name: string): string => join(FIXTURES, name);

function where(problems: readonly Problem[], code: string): string[] {
  return problems.filter((p) => p.code === code).map((p) => `${p.line}:${p.col}:${p.severity}`);
}

describe('problems in a broken rules file', async () => {
  const result = await loadRules([fixture('broken.yaml'), fixture('bad-yaml.yaml')]);
  const ps = result.problems;

  it('are located at the token concerned, with stable codes', () => {
    expect(where(ps, 'LANNER_RULE_PARSE')).toEqual(['6:45:error']);
    expect(where(ps, 'LANNER_RULE_UNKNOWN_MACRO')).toEqual(['10:14:error']);
    expect(where(ps, 'LANNER_RULE_BAD_OPERATOR')).toEqual(['18:15:error']);
    expect(where(ps, 'LANNER_RULE_BAD_PRIORITY')).toEqual(['26:3:error']);
    expect(where(ps, 'LANNER_RULE_UNKNOWN_FIELD')).toEqual(['30:34:warning']);
    expect(where(ps, 'LANNER_RULE_UNKNOWN_FIELD_CLASS')).toEqual(['30:53:error']);
    expect(where(ps, 'LANNER_RULE_UNKNOWN_KEY')).toEqual(['33:3:warning']);
    expect(where(ps, 'LANNER_RULE_BROKEN_DEPENDENCY')).toEqual(['37:36:error']);
    expect(where(ps, 'LANNER_RULE_REDEFINED')).toEqual(['47:3:warning']);
    expect(where(ps, 'LANNER_RULE_MACRO_CYCLE')).toEqual(['57:34:error']);
    expect(where(ps, 'LANNER_RULE_UNDEFINED')).toEqual(['59:3:error']);
    const yaml = ps.filter((p) => p.code === 'LANNER_RULE_YAML');
    expect(yaml).toHaveLength(1);
    expect(yaml[0]).toMatchObject({ file: fixture('bad-yaml.yaml'), line: 7, severity: 'error' });
  });

  it('names the key or operator concerned', () => {
    expect(ps.find((p) => p.code === 'LANNER_RULE_UNKNOWN_KEY')!.message).toContain("'colour'");
    expect(ps.find((p) => p.code === 'LANNER_RULE_BAD_OPERATOR')!.message).toContain("'startwith'");
    expect(ps.find((p) => p.code === 'LANNER_RULE_MACRO_CYCLE')!.message).toContain('loop_a -> loop_b -> loop_a');
  });

  it('keeps the rules that compile and names those that do not', () => {
    expect(result.ok).toBe(false);
    expect([...result.notCompiled].sort()).toEqual(['Bad operator', 'Unknown field', 'Unknown macro', 'Uses broken macro']);
    expect(result.ruleSet.rules.map((r) => r.name).sort()).toEqual(['Bad priority', 'Twice']);
    expect(result.ruleSet.get('Twice')!.output).toBe('again');
  });

  it('uses only documented codes', () => {
    for (const p of ps) expect(Object.keys(RULE_PROBLEM_CODES)).toContain(p.code);
  });
});

describe('overrides, appends and exceptions', async () => {
  const result = await loadRules([fixture('base.yaml'), fixture('local.yaml')]);
  const shell = result.ruleSet.get('Shell spawned')!;
  const nc = result.ruleSet.get('Netcat')!;

  it('loads without errors', () => {
    expect(result.problems.filter((p) => p.severity !== 'info')).toEqual([]);
    expect(result.counts).toEqual({ rules: 2, macros: 1, lists: 2 });
  });

  it('appends to lists, macros, conditions, outputs and tags; replaces priority and enabled', () => {
    expect(result.ruleSet.lists.get('shells')).toEqual(['sh', 'bash', 'zsh']);
    expect(result.ruleSet.macros.get('spawned')).toBe('evt.type in (execve, execveat) and user.uid != 0');
    expect(shell.condition).toBe('spawned and proc.name in (shells) and not proc.pname = sshd');
    expect(shell.output).toBe('shell %proc.name (parent %proc.pname) (user %user.name)');
    expect(shell.tags).toEqual(['shell', 'local']);
    expect(nc.priority).toBe('Critical');
    expect(nc.enabled).toBe(false);
    expect(shell.refinements).toHaveLength(1);
    expect(shell.origin.at).toMatchObject({ file: fixture('base.yaml'), line: 7 });
  });

  it('compiles exceptions as and not (...), appended values and lists included', () => {
    const base = { 'evt.type': 'execve', 'user.uid': 1000, 'proc.name': 'zsh', 'proc.pname': 'bash', 'proc.cmdline': 'zsh' };
    expect(shell.matches(event(base))).toBe(true);
    expect(shell.matches(event({ ...base, 'user.uid': 0 }))).toBe(false);
    expect(shell.matches(event({ ...base, 'proc.pname': 'sshd' }))).toBe(false);
    expect(shell.matches(event({ ...base, 'proc.pname': 'cron', 'proc.cmdline': 'sh -c /etc/cron.daily/x' }))).toBe(false);
    expect(shell.matches(event({ ...base, 'proc.pname': 'cron', 'proc.cmdline': 'sh -c id' }))).toBe(true);
    expect(shell.matches(event({ ...base, 'proc.pname': 'systemd', 'proc.cmdline': '/usr/lib/systemd/x' }))).toBe(false);
    expect(shell.matches(event({ ...base, 'proc.pname': 'jenkins' }))).toBe(false);
    expect(shell.matches(event({ ...base, 'proc.pname': 'gitlab-runner' }))).toBe(false);
    expect(shell.exceptions.map((e) => e.name)).toEqual(['known_parents', 'ci']);
  });

  it('indexes by evt.type and leaves disabled rules out', () => {
    expect(shell.eventTypes).toEqual(new Set(['execve', 'execveat']));
    const ev = event({ 'evt.type': 'execve', 'user.uid': 1, 'proc.name': 'nc', 'proc.pname': 'x' });
    expect(result.ruleSet.candidates(ev)).toEqual([shell]);
    expect(result.ruleSet.candidates(event({ 'evt.type': 'open' }))).toEqual([]);
    expect(result.ruleSet.candidates(event({ 'evt.type': 'execve' }, { source: 'k8s_audit' }))).toEqual([]);
    expect(result.ruleSet.match(ev)).toEqual([]);
    expect(result.ruleSet.match({ ...ev, fields: { ...ev.fields, 'proc.name': 'sh' } })).toEqual([shell]);
  });

  it('fingerprints what the rule evaluates', () => {
    expect(shell.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(result.ruleSet.get('Netcat')!.fingerprint).not.toBe(shell.fingerprint);
  });

  it('renders the output with <NA> for missing fields', () => {
    expect(shell.render(event({ 'proc.name': 'sh', 'proc.pname': null }))).toBe('shell sh (parent <NA>) (user <NA>)');
  });
});

describe('legacy append and enabled-only items', () => {
  it('appends conditions and exceptions with append: true', () => {
    const r = load(`
- rule: R
  desc: d
  condition: evt.type = execve
  output: o
  priority: INFO
- rule: R
  condition: and proc.name = sh
  append: true
- rule: R
  enabled: false
`);
    expect(r.problems.filter((p) => p.severity !== 'info')).toEqual([]);
    const rule = r.ruleSet.get('R')!;
    expect(rule.condition).toBe('evt.type = execve and proc.name = sh');
    expect(rule.enabled).toBe(false);
    expect(rule.refinements).toHaveLength(2);
  });

  it('refuses keys an override does not list, and unknown modes', () => {
    const r = load(`
- macro: m
  condition: evt.type = open
- macro: m
  condition: or evt.type = openat
  override:
    condition: prepend
- rule: R
  desc: d
  condition: m
  output: o
  priority: INFO
- rule: R
  condition: and proc.name = sh
  output: x
  override:
    condition: append
- rule: R
  priority: INFO
  override:
    priority: append
`);
    const codes = r.problems.filter((p) => p.severity === 'error').map((p) => `${p.line}:${p.code}`);
    expect(codes).toEqual(['6:LANNER_RULE_OVERRIDE', '15:LANNER_RULE_OVERRIDE', '20:LANNER_RULE_OVERRIDE']);
  });

  it('follows Falco on the edges of overrides and appends', () => {
    const base = '- rule: R\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n  exceptions:\n    - name: e\n      fields: proc.name\n      comps: in\n      values: [sh]\n';
    const problems = (text: string) => load(base + text).problems.filter((p) => p.severity !== 'info').map((p) => `${p.line}:${p.severity}:${p.code}`);
    // appending to an exception adds values, never fields or comps
    expect(problems('- rule: R\n  exceptions:\n    - name: e\n      comps: [startswith]\n      values: [ba]\n  override:\n    exceptions: append\n')).toEqual(['13:error:LANNER_RULE_EXCEPTION']);
    const appended = load(base + '- rule: R\n  exceptions:\n    - name: e\n      values: [bash]\n  override:\n    exceptions: append\n').ruleSet.get('R')!;
    expect(appended.matches(event({ 'evt.type': 'execve', 'proc.name': 'bash' }))).toBe(false);
    expect(appended.matches(event({ 'evt.type': 'execve', 'proc.name': 'zsh' }))).toBe(true);
    // the source of a rule is not replaced, nor redefined
    expect(problems('- rule: R\n  source: k8s_audit\n  override:\n    source: replace\n')).toEqual(['13:error:LANNER_RULE_OVERRIDE']);
    expect(problems('- rule: R\n  desc: d\n  condition: ka.verb = create\n  output: o\n  priority: INFO\n  source: k8s_audit\n')).toEqual(['11:error:LANNER_RULE_REDEFINED']);
    // append: false beside override says nothing more
    expect(problems('- rule: R\n  priority: ERROR\n  append: false\n  override:\n    priority: replace\n')).toEqual([]);
    // legacy append: what is not a condition or exceptions is ignored; with neither, an error
    expect(problems('- rule: R\n  condition: and proc.name = sh\n  output: other\n  append: true\n')).toEqual(['13:warning:LANNER_RULE_OVERRIDE']);
    expect(problems('- rule: R\n  output: other\n  append: true\n')).toEqual(['11:error:LANNER_RULE_OVERRIDE']);
    // an item that sets enabled without condition, output, desc or priority only switches the rule
    const switched = load(base + '- rule: R\n  enabled: false\n  tags: [x]\n');
    expect(switched.problems.filter((p) => p.severity !== 'info').map((p) => `${p.line}:${p.severity}`)).toEqual(['13:warning']);
    expect(switched.ruleSet.get('R')!.enabled).toBe(false);
    expect(switched.ruleSet.get('R')!.tags).toEqual([]);
  });

  it('defines a list or macro that a replace names before it is defined, as Falco does', () => {
    const r = load('- list: l\n  items: [sh]\n  override:\n    items: replace\n- macro: m\n  condition: proc.name in (l)\n  override:\n    condition: replace\n- rule: R\n  desc: d\n  condition: evt.type = execve and m\n  output: o\n  priority: INFO\n');
    expect(r.problems.filter((p) => p.severity !== 'info')).toEqual([]);
    expect(r.ruleSet.get('R')!.matches(event({ 'evt.type': 'execve', 'proc.name': 'sh' }))).toBe(true);
    expect(load('- list: l\n  items: [sh]\n  override:\n    items: append\n').problems.map((p) => p.code)).toEqual(['LANNER_RULE_UNKNOWN_LIST']);
  });

  it('accepts required_engine_version as a version or a number, and refuses anything else', () => {
    const severity = (v: string) => load(`- required_engine_version: ${v}\n`).problems.map((p) => `${p.severity}:${p.code}`);
    expect(severity('0.31.0')).toEqual(['info:LANNER_RULE_VERSION']);
    expect(severity('17')).toEqual(['info:LANNER_RULE_VERSION']);
    expect(severity('abc')).toEqual(['error:LANNER_RULE_VERSION']);
    expect(severity('[1]')).toEqual(['error:LANNER_RULE_VERSION']);
  });

  it('warns of a macro that uses a macro defined after it, which Falco refuses', () => {
    const r = load('- macro: outer\n  condition: evt.type = execve and inner\n- macro: inner\n  condition: proc.name = sh\n- macro: later\n  condition: inner\n- rule: R\n  desc: d\n  condition: outer and later\n  output: o\n  priority: INFO\n');
    expect(r.problems.filter((p) => p.severity !== 'info').map((p) => `${p.line}:${p.col}:${p.code}`)).toEqual(['2:36:LANNER_RULE_MACRO_ORDER']);
    expect(r.ruleSet.get('R')!.matches(event({ 'evt.type': 'execve', 'proc.name': 'sh' }))).toBe(true);
    // appended after the macro it uses was defined: Falco accepts it
    const appended = load('- macro: outer\n  condition: evt.type = execve\n- macro: inner\n  condition: proc.name = sh\n- macro: outer\n  condition: and inner\n  append: true\n');
    expect(appended.problems.filter((p) => p.code === 'LANNER_RULE_MACRO_ORDER')).toEqual([]);
  });

  it('warns of an exception named twice in one rule', () => {
    const r = load('- rule: R\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n  exceptions:\n    - name: e\n      fields: proc.name\n      values: [sh]\n    - name: e\n      fields: proc.pname\n      values: [cron]\n');
    expect(r.problems.filter((p) => p.severity !== 'info').map((p) => `${p.line}:${p.severity}:${p.code}`)).toEqual(['10:warning:LANNER_RULE_EXCEPTION']);
  });

  it('reports a malformed exception at the exception', () => {
    const r = load(`
- rule: R
  desc: d
  condition: evt.type = open
  output: o
  priority: INFO
  exceptions:
    - name: e
      fields: [proc.name, fd.name]
      values:
        - [sh]
`);
    expect(r.problems.filter((p) => p.severity === 'error').map((p) => `${p.line}:${p.col}:${p.code}`)).toEqual(['8:7:LANNER_RULE_EXCEPTION']);
  });
});

describe("operators Falco refuses for a field's type", () => {
  const text = `- macro: pid_prefix
  condition: proc.pid startswith 12
- macro: failed_order
  condition: evt.failed > 0
- rule: Typed operators
  desc: d
  condition: >
    evt.type = execve and pid_prefix and user.uid contains 0
    and len(proc.name) endswith 3 and fd.sport glob "8*"
    and proc.pid regex "1.*" and proc.ppid icontains val(proc.name)
  output: o
  priority: WARNING
  exceptions:
    - name: by_pid
      fields: [proc.pid, proc.name]
      comps: [pmatch, =]
      values: [[[1], sh]]
`;

  it('are errors at the operator, file:line:col like every other problem', () => {
    const r = lintText(text, 'typed.yaml');
    const numeric = (op: string, field: string): string => `'${op}' is not supported on '${field}', a numeric field: Falco applies text operators to text fields only [LANNER_RULE_BAD_OPERATOR]`;
    expect(r.problems.filter((p) => p.severity !== 'info').map(formatProblem)).toEqual([
      `typed.yaml:2:23: error: ${numeric('startswith', 'proc.pid')}`,
      "typed.yaml:4:25: error: '>' is not supported on 'evt.failed', a boolean field: Falco compares booleans with =, !=, in and intersects only [LANNER_RULE_BAD_OPERATOR]",
      `typed.yaml:8:51: error: ${numeric('contains', 'user.uid')}`,
      `typed.yaml:9:24: error: ${numeric('endswith', 'len(proc.name)')}`,
      `typed.yaml:9:48: error: ${numeric('glob', 'fd.sport')}`,
      `typed.yaml:10:18: error: ${numeric('regex', 'proc.pid')}`,
      `typed.yaml:10:44: error: ${numeric('icontains', 'proc.ppid')}`,
      `typed.yaml:14:7: error: exception 'by_pid': ${numeric('pmatch', 'proc.pid')}`,
    ]);
    expect(r.ok).toBe(false);
    expect(r.notCompiled).toEqual(['Typed operators']);
  });

  it('refuse literals Falco cannot parse for the field, and byte operators on text', () => {
    const lint = (condition: string) =>
      lintText(`- rule: r\n  desc: d\n  condition: ${condition}\n  output: o\n  priority: WARNING\n`, 'l.yaml').problems.filter((p) => p.severity !== 'info' && p.code !== 'LANNER_RULE_NO_EVTTYPE').map((p) => `${p.col}:${p.code}`);
    expect(lint('proc.pid = 0x10')).toEqual(['25:LANNER_RULE_BAD_VALUE']);
    expect(lint('proc.pid in (1, 0x2, 3)')).toEqual(['30:LANNER_RULE_BAD_VALUE']);
    expect(lint('proc.pid > 1.5')).toEqual(['25:LANNER_RULE_BAD_VALUE']);
    expect(lint('evt.rawtime = 1e20')).toEqual(['28:LANNER_RULE_BAD_VALUE']);
    expect(lint('evt.failed = TRUE')).toEqual(['27:LANNER_RULE_BAD_VALUE']);
    expect(lint('container.privileged in (1)')).toEqual(['39:LANNER_RULE_BAD_VALUE']);
    expect(lint('proc.cmdline bcontains 2d6a')).toEqual(['27:LANNER_RULE_BAD_OPERATOR']);
    // what Falco reads: decimal with a sign, fractions on its double fields, the two boolean words
    expect(lint('proc.pid = -1 and proc.pid in (+2, 3) and thread.cpu > 0.5 and evt.failed in (true, false) and evt.buffer bcontains 2d6a')).toEqual([]);
  });

  it('leave alone what Falco accepts: comparisons on numbers, text operators on text, fields of no known type', () => {
    const r = lintText(`- rule: Allowed
  desc: d
  condition: >
    evt.type = execve and proc.pid in (1, 2) and proc.pid > 1 and proc.pid != 3 and proc.pid exists
    and fd.sport intersects (80) and evt.failed = true and evt.failed in (false)
    and proc.name startswith 12 and proc.cmdline contains 1 and fd.name pmatch (/tmp) and proc.name regex "[0-9]+"
    and tolower(proc.name) contains x and proc.aname[2] endswith 1 and evt.arg.uid startswith 1
    and evt.rawarg.res contains 1 and json.value contains 1
  output: o
  priority: WARNING
`, 'allowed.yaml');
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(r.ruleSet.get('Allowed')).toBeDefined();
  });
});

describe('lint', () => {
  it('lintText reports counts and problems for one text', () => {
    const r = lintText('- list: a\n  items: [x]\n- macro: m\n  condition: proc.name in (a)\n', 'inline.yaml');
    expect(r.ok).toBe(true);
    expect(r.counts).toEqual({ rules: 0, macros: 1, lists: 1 });
  });

  it('reads a directory: *.yaml and *.yml sorted by name, later files refining earlier ones', () => {
    const r = loadRulesSync([fixture('dir')]);
    expect(r.files.map((f) => f.slice(FIXTURES.length + 1))).toEqual(['dir/10-first.yaml', 'dir/20-second.yml']);
    expect(r.ruleSet.get('First')!.output).toBe('second');
    expect(where(r.problems, 'LANNER_RULE_REDEFINED')).toEqual(['1:3:info']);
  });

  it('reports a path that cannot be read', async () => {
    const r = await loadRules([fixture('missing.yaml')]);
    expect(r.problems.map((p) => p.code)).toEqual(['LANNER_RULE_READ']);
  });

  it('runRulesLint prints file:line:col lines, a summary, and exits 1 on errors', async () => {
    const out: string[] = [];
    const code = await runRulesLint([fixture('broken.yaml')], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code).toBe(1);
    expect(out).toContain(`${fixture('broken.yaml')}:18:15: error: rule 'Bad operator': unknown operator 'startwith': expected one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch' [LANNER_RULE_BAD_OPERATOR]`);
    expect(out.at(-1)).toMatch(/^1 file: 6 rules, 3 macros, 1 list; 8 errors, 4 warnings$/);
  });

  it('runRulesLint --json prints counts and problems, exit 0 without errors', async () => {
    const out: string[] = [];
    const code = await runRulesLint(['--json', fixture('base.yaml')], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(code).toBe(0);
    const doc = JSON.parse(out.join('\n')) as { rules: number; lists: number; macros: number; problems: unknown[] };
    expect(doc).toEqual({ rules: 2, lists: 1, macros: 1, problems: [] });
  });

  it('says whether a rule reading fields the feed lacks can never match, or may match more or less than in Falco', () => {
    const r = load(
      [
        '- rule: Long shell',
        '  desc: d',
        '  condition: evt.type = execve and proc.name = bash and proc.duration > 1000',
        '  output: o',
        '  priority: NOTICE',
        '- rule: Shell not under sshd',
        '  desc: d',
        '  condition: evt.type = execve and proc.name = bash and not proc.aname[4] = sshd',
        '  output: o',
        '  priority: NOTICE',
        '- rule: Shell or capable',
        '  desc: d',
        '  condition: evt.type = execve and (proc.name = bash or thread.cap_effective contains CAP_SYS_ADMIN)',
        '  output: o',
        '  priority: NOTICE',
        '',
      ].join('\n'),
    );
    const info = r.problems.filter((p) => p.code === 'LANNER_RULE_UNEVALUABLE').map((p) => [p.line, p.severity, p.message]);
    expect(info).toEqual([
      [1, 'info', "rule 'Long shell' reads fields Lanner's feed does not forward, so it can never match: proc.duration"],
      [6, 'info', "rule 'Shell not under sshd' reads fields Lanner's feed does not forward, so checks on them never hold and it may match more or less than in Falco: proc.aname[4]"],
      [11, 'info', "rule 'Shell or capable' reads fields Lanner's feed does not forward, so checks on them never hold and it may match more or less than in Falco: thread.cap_effective"],
    ]);
    // What the words say is what the rules do on a feed event without those fields.
    const bash = event({ 'evt.type': 'execve', 'proc.name': 'bash' });
    expect(r.ruleSet.get('Long shell')!.matches(bash)).toBe(false);
    expect(r.ruleSet.get('Shell not under sshd')!.matches(bash)).toBe(true);
    expect(r.ruleSet.get('Shell or capable')!.matches(bash)).toBe(true);
  });

  it('runRulesLint refuses no paths and unknown options with exit 2', async () => {
    const io = { out: () => {}, err: () => {} };
    expect(await runRulesLint([], io)).toBe(2);
    expect(await runRulesLint(['--nope', 'x'], io)).toBe(2);
  });
});

describe('Lanner keys on a rule', () => {
  it('keeps runbook, actions and the stateful keys (with their positions) for later stages, without warnings', () => {
    const r = load(`
- rule: Symlink then open
  desc: d
  sequence:
    within: 5s
    steps:
      - condition: evt.type in (symlink, symlinkat)
        key: evt.arg.linkpath
  state: { max_keys: 100, ttl: 1m }
  output: o %fd.name
  priority: CRITICAL
  runbook: https://example.org/tmp-race
  actions: [quarantine]
`);
    expect(r.problems.filter((p) => p.severity !== 'info')).toEqual([]);
    const rule = r.ruleSet.get('Symlink then open')!;
    expect(rule.condition).toBeUndefined();
    expect(rule.matches(event({ 'evt.type': 'symlink' }))).toBe(false);
    expect(rule.runbook).toBe('https://example.org/tmp-race');
    expect(rule.actions).toEqual(['quarantine']);
    expect(rule.stateful.sequence).toMatchObject({ value: { within: '5s', steps: [{ key: 'evt.arg.linkpath' }] }, at: { line: 4, col: 3 } });
    expect(rule.raw['state']).toEqual({ max_keys: 100, ttl: '1m' });
    const step = rule.stateful.sequence!.value as { steps: { condition: string }[] };
    const compiled = r.ruleSet.compileCondition(step.steps[0]!.condition);
    expect(compiled.ok && [...compiled.condition.eventTypes!]).toEqual(['symlink', 'symlinkat']);
    const bad = r.ruleSet.compileCondition('evt.type in (a');
    expect(bad.ok).toBe(false);
    expect(bad.problems[0]).toMatchObject({ file: '<condition>', line: 1, col: 15, code: 'LANNER_RULE_PARSE' });
  });
});

/** What one parse of the whole text gives: the reference the stepped parse must equal. */
function parsedWhole(text: string): { issues: string[]; items: { json: unknown; range: unknown }[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: false, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number): string => {
    const { line, col } = lines.linePos(Math.max(0, Math.min(offset, text.length)));
    return `${line}:${col}`;
  };
  const issues = [
    ...doc.errors.map((e) => `${at(e.pos[0])}: error: ${e.message.split('\n')[0]!}`),
    ...doc.warnings.map((e) => `${at(e.pos[0])}: warning: ${e.message.split('\n')[0]!}`),
  ];
  const items = doc.errors.length === 0 && isSeq(doc.contents) ? doc.contents.items.filter(isMap).map((i) => ({ json: i.toJSON() as unknown, range: i.range })) : [];
  return { issues, items };
}

function parsedInSteps(text: string): { issues: string[]; items: { json: unknown; range: unknown }[] } {
  const src = SourceFile.parse('f.yaml', text);
  return {
    issues: src.problems.filter((p) => p.code === 'LANNER_RULE_YAML' && !p.message.startsWith('each item') && !p.message.startsWith('a rules file')).map((p) => `${p.line}:${p.col}: ${p.severity}: ${p.message}`),
    items: src.items.map((i) => ({ json: i.toJSON() as unknown, range: i.range })),
  };
}

describe('parsing a rules file in steps', () => {
  const ITEMS = [
    '- rule: Plain\n  desc: d\n  condition: evt.type = execve and proc.name in (shells)\n  output: o %proc.name\n  priority: WARNING\n',
    '- macro: folded\n  condition: >\n    evt.type = open\n    and fd.name startswith /etc\n',
    '- list: shells\n  items: [bash, "sh", \'zsh\']\n',
    '# a comment between items\n\n',
    '- rule: Literal\n  condition: |\n    evt.type = connect # not a comment\n  output: "quoted: # too"\n',
    '- { rule: Flow, condition: evt.type = execve, output: o, priority: INFO }\n',
    '- rule: Anchored\n  tags: &tags [a, b]\n',
    '- rule: Twice\n  desc: a\n  desc: b\n',
    '- rule: Bad indent\n   desc: d\n',
    '- rule: Unclosed\n  tags: [a, b\n',
    '- just a string\n',
    '-\n',
    '- rule: Tab\n\tdesc: d\n',
  ];
  const ALIAS = '- rule: Aliased\n  tags: *tags\n';

  it('gives the nodes, positions and problems one parse of the whole text gives (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ITEMS, ALIAS), { maxLength: 60 }), fc.constantFrom('', '---\n', '# head\n'), (items, head) => {
        const text = head + items.join('');
        expect(parsedInSteps(text)).toEqual(parsedWhole(text));
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same for Falco files, the fixtures and texts that are not one list', () => {
    const texts = [
      ...['broken.yaml', 'bad-yaml.yaml', 'base.yaml', 'local.yaml'].map((f) => readFileSync(fixture(f), 'utf8')),
      ...(HAVE_SHARED ? ['falco_rules.yaml', 'falco-incubating_rules.yaml', 'falco-sandbox_rules.yaml'].map((f) => readFileSync(join(SHARED_DIR, 'falco-rules', f), 'utf8')) : []),
      '',
      '# only a comment\n',
      'rule: a map\n',
      '[{ rule: a flow list }]\n',
      '- rule: a\n...\n',
    ];
    for (const text of texts) expect(parsedInSteps(text)).toEqual(parsedWhole(text));
  });
});

describe('loading a large rule set paced', () => {
  const RULES = 800;
  function manyRules(): string {
    const rules = Array.from(
      { length: RULES },
      (_, i) => `- rule: Rule ${i}\n  desc: number ${i}\n  condition: evt.type = execve and proc.name in (shells) and proc.pname = "p${i}"\n  output: o %proc.name ${i}\n  priority: WARNING\n`,
    );
    const file = join(tempDir('paced'), 'many.yaml');
    writeFileSync(file, `- list: shells\n  items: [bash, sh]\n${rules.join('')}`);
    return file;
  }

  /** Counts the turns the event loop gets while `load` runs, and the clock reading at each. */
  async function turnsDuring<T>(load: () => Promise<T>, clock: () => number = () => 0): Promise<{ result: T; turns: number[] }> {
    const turns: number[] = [];
    let loading = true;
    const turn = (): void => {
      turns.push(clock());
      if (loading) setImmediate(turn);
    };
    setImmediate(turn);
    const result = await load();
    loading = false;
    return { result, turns };
  }

  it('with a slice of 0 ms, gives the event loop a turn at every pause, and the same result as loading at once', async () => {
    const file = manyRules();
    const { result: paced, turns } = await turnsDuring(() => loadRules([file], { sliceMs: 0 }));
    // Pauses come between rules at least: a turn for each of them, whatever the machine's speed.
    expect(turns.length).toBeGreaterThan(RULES);
    const atOnce = loadRulesSync([file]);
    expect(paced.ruleSet.rules.map((r) => r.name)).toEqual(atOnce.ruleSet.rules.map((r) => r.name));
    expect(paced.problems).toEqual(atOnce.problems);
    expect(paced.ruleSet.rules).toHaveLength(RULES);
  });

  it('by default, holds the event loop for at most its 10 ms slice between turns (on a virtual clock)', async () => {
    const file = manyRules();
    // Each reading of the clock advances it by 1 ms: a slice's length is counted in pauses, so
    // the bound is checked exactly however fast or loaded the machine is.
    let now = 0;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now++);
    try {
      const { result, turns } = await turnsDuring(() => loadRules([file]), () => now);
      expect(result.ruleSet.rules).toHaveLength(RULES);
      const gaps = turns.slice(1).map((t, i) => t - turns[i]!);
      expect(gaps.length).toBeGreaterThan(RULES / 20);
      // A slice ends at the first pause once 10 ms have passed: 10 readings in the slice, one to
      // start the next.
      expect(Math.max(...gaps)).toBe(11);
    } finally {
      clock.mockRestore();
    }
  });
});

describe('a rule the compiler cannot take', () => {
  // 200,000 list items once overflowed the stack while the list was expanded, which ended the
  // process at start and in lint. Whatever the compiler can take, the load ends in a result.
  it('ends the load with a result: each rule compiled or named by a problem, the others loaded', { timeout: 60_000 }, () => {
    const items = Array.from({ length: 200_000 }, (_, i) => `a${i % 10}`).join(',');
    const r = lintText(
      `- list: big\n  items: [${items}]\n- rule: Uses big\n  desc: d\n  condition: evt.type = execve and proc.name in (big)\n  output: o\n  priority: WARNING\n` +
        '- rule: Fine\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: WARNING\n',
    );
    expect(r.ruleSet.get('Fine')).toBeDefined();
    if (!r.ruleSet.get('Uses big')) {
      expect(r.problems.find((p) => p.severity === 'error')).toMatchObject({ line: 3, col: 3, code: 'LANNER_RULE_SCHEMA', message: expect.stringContaining("rule 'Uses big' could not be compiled") });
    }
  });
});
