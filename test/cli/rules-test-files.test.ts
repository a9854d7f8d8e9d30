import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, LANNER_BIN, lanner } from '../support/cli.js';
import { REPO_ROOT } from '../support/shared.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

beforeAll(assertBuilt);

function tmp(files: Record<string, string>): string {
  const d = tempDir('cli-rule-tests');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

const SHELL_RULE =
  '- rule: Shell in container\n  desc: a shell\n  condition: evt.type = execve and proc.name = sh and container.id != host\n  output: shell %proc.name\n  priority: WARNING\n  tags: [shell_spawn, T1059.004]\n';
const SHELL_EVENT = '{ evt.type: execve, proc.name: sh, container.id: c1 }';
const GOOD_TEST = `rules: [shell.yaml]\ntests:\n  - name: shell alerts\n    events:\n      - ${SHELL_EVENT}\n    expect: [{ rule: Shell in container }]\n`;

/** The indented failure lines printed under `FAIL file: name`. */
function failuresOf(stdout: string, file: string, name: string): string[] {
  const lines = stdout.split('\n');
  const at = lines.indexOf(`FAIL ${file}: ${name}`);
  if (at < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('     ')) break;
    out.push(line.trim());
  }
  return out;
}

describe('lanner rules test: malformed test files', () => {
  it('a test file that is not valid YAML is one failed file at file:line:col; the other files still run', async () => {
    const d = tmp({
      'shell.yaml': SHELL_RULE,
      'a-broken.test.yaml': `rules: [shell.yaml]\ntests:\n  - name: unclosed\n    events: [ ${SHELL_EVENT}\n`,
      'b-good.test.yaml': GOOD_TEST,
    });
    const r = await lanner(['rules', 'test', d]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const broken = join(d, 'a-broken.test.yaml');
    const failures = failuresOf(r.stdout, broken, '(file)');
    expect(failures.length, r.stdout).toBeGreaterThan(0);
    for (const f of failures) expect(f).toMatch(new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: \\S`));
    expect(r.stdout).toMatch(/^1 passed, 1 failed$/m);
  });

  it('an empty test file and one whose top level is not a mapping fail, each at its place', async () => {
    const d = tmp({ 'shell.yaml': SHELL_RULE, 'a.test.yaml': '', 'b.test.yaml': '- tests: []\n', 'c.test.yaml': GOOD_TEST });
    const r = await lanner(['rules', 'test', d]);
    expect(r.code).toBe(1);
    expect(failuresOf(r.stdout, join(d, 'a.test.yaml'), '(file)')).toEqual([`${join(d, 'a.test.yaml')}:1:1: a rule test file must be a mapping with a \`tests:\` list`]);
    expect(failuresOf(r.stdout, join(d, 'b.test.yaml'), '(file)')[0]).toMatch(/b\.test\.yaml:1:1: .*mapping/);
    expect(r.stdout).toMatch(/^1 passed, 2 failed$/m);
  });

  it('count: "2" is an error at its line, and the case fails although one alert was raised', async () => {
    const d = tmp({
      'shell.yaml': SHELL_RULE,
      'count.test.yaml': `rules: [shell.yaml]\ntests:\n  - name: quoted count\n    events:\n      - ${SHELL_EVENT}\n    expect: [{ rule: Shell in container, count: "2" }]\n`,
    });
    const r = await lanner(['rules', 'test', d]);
    expect(r.code).toBe(1);
    const file = join(d, 'count.test.yaml');
    expect(failuresOf(r.stdout, file, 'quoted count')).toEqual([`${file}:6:49: tests[0].expect[0].count: must be a whole number of alerts, 0 or more, got "2"`]);
    expect(r.stdout).toMatch(/^0 passed, 1 failed$/m);
  });

  it('every malformed key of a case is reported with its line, and only that case fails', async () => {
    const cases: [name: string, body: string, line: number, message: RegExp][] = [
      ['negative count', `    expect: [{ rule: Shell in container, count: -1 }]`, 0, /expect\[0\]\.count: must be a whole number of alerts, 0 or more, got -1$/],
      ['fractional count', `    expect: [{ rule: Shell in container, count: 1.5 }]`, 0, /expect\[0\]\.count: must be a whole number.*got 1\.5$/],
      ['empty count', `    expect: [{ rule: Shell in container, count: }]`, 0, /expect\[0\]\.count: must be a whole number/],
      ['count as text', `    expect: [{ rule: Shell in container, count: one }]`, 0, /expect\[0\]\.count: must be a whole number.*got "one"$/],
      ['unknown expect key', `    expect: [{ rule: Shell in container, cuont: 1 }]`, 0, /expect\[0\]\.cuont: unknown key \(expected one of rule, count\)$/],
      ['expect item without a rule', `    expect: [{ count: 1 }]`, 0, /expect\[0\]\.rule: is required/],
      ['expect item not a mapping', `    expect: [Shell in container]`, 0, /expect\[0\]: must be a mapping \{ rule: NAME, count: N \}, got "Shell in container"$/],
      ['expect not a list', `    expect: { rule: Shell in container }`, 0, /expect: must be a list of \{ rule, count \}/],
      ['unknown case key', `    expect: [{ rule: Shell in container }]\n    silent: true`, 1, /silent: unknown key \(expected one of name, defaults, events, events_file, expect\)$/],
      ['case defaults not a mapping', `    expect: [{ rule: Shell in container }]\n    defaults: [container.id]`, 1, /defaults: must be a mapping of event fields/],
      ['events_file not a path', `    expect: [{ rule: Shell in container }]\n    events_file: 3`, 1, /events_file: must be a path.*got 3$/],
    ];
    const text = cases.map(([name, body]) => `  - name: ${name}\n    events:\n      - ${SHELL_EVENT}\n${body}\n`).join('');
    const extra = [
      // events and names that are malformed, where the case's own lines differ
      '  - name: events not a list\n    events: { evt.type: execve }\n    expect: []\n',
      `  - name: event not a mapping\n    events:\n      - ${SHELL_EVENT}\n      - execve\n    expect: [{ rule: Shell in container }]\n`,
      `  - name: bad at\n    events:\n      - { evt.type: execve, at: soon }\n    expect: []\n`,
      `  - events:\n      - ${SHELL_EVENT}\n    expect: [{ rule: Shell in container }]\n    name: [not, text]\n`,
      '  - name: no expect\n    events:\n      - { evt.type: execve }\n',
      '  - just a string\n',
    ];
    const file = join(tmp({ 'shell.yaml': SHELL_RULE, 'keys.test.yaml': `rules: [shell.yaml]\ntests:\n${text}${extra.join('')}${GOOD_TEST.split('tests:\n')[1]}` }), 'keys.test.yaml');
    const r = await lanner(['rules', 'test', file]);
    expect(r.code).toBe(1);
    let line = 3;
    for (const [name, body, offset, message] of cases) {
      const failures = failuresOf(r.stdout, file, name);
      expect(failures, `${name}\n${r.stdout}`).toHaveLength(1);
      expect(failures[0], name).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line + 3 + offset}:\\d+: tests\\[\\d+\\]\\.`));
      expect(failures[0], name).toMatch(message);
      line += 3 + body.split('\n').length;
    }
    const start = line;
    expect(failuresOf(r.stdout, file, 'events not a list')).toEqual([`${file}:${start + 1}:13: tests[11].events: must be a list, each item a mapping of event fields, e.g. { container.id: c1 }`]);
    expect(failuresOf(r.stdout, file, 'event not a mapping')).toEqual([`${file}:${start + 6}:9: tests[12].events[1]: must be a mapping of event fields, e.g. { container.id: c1 }, got "execve"`]);
    expect(failuresOf(r.stdout, file, 'bad at')).toEqual([`${file}:${start + 10}:33: tests[13].events[0].at: must be a duration from the start of the case, such as 1.5s, got "soon"`]);
    expect(failuresOf(r.stdout, file, 'case 15')).toEqual([`${file}:${start + 15}:11: tests[14].name: must be text`]);
    expect(failuresOf(r.stdout, file, 'no expect')).toEqual([`${file}:${start + 16}:5: tests[15].expect: is required: a list of { rule, count }, or [] for silence`]);
    expect(failuresOf(r.stdout, file, 'case 17')).toEqual([`${file}:${start + 19}:5: tests[16]: a test case must be a mapping with events: and expect:, got "just a string"`]);
    expect(r.stdout).toMatch(/^1 passed, 17 failed$/m);
  });

  it('malformed file-wide keys fail the file, each named with its line, and no case runs', async () => {
    const d = tmp({
      'shell.yaml': SHELL_RULE,
      'top.test.yaml': `rules: shell.yaml\ndefault: { container.id: c1 }\ndefaults: [c1]\ntests:\n  - name: shell alerts\n    events:\n      - ${SHELL_EVENT}\n    expect: [{ rule: Shell in container, cnt: 1 }]\n`,
      'tests.test.yaml': 'rules: [shell.yaml]\ntests: { name: x }\n',
      'none.test.yaml': 'rules: [shell.yaml]\ntests: []\n',
    });
    const r = await lanner(['rules', 'test', d]);
    expect(r.code).toBe(1);
    const top = join(d, 'top.test.yaml');
    expect(failuresOf(r.stdout, top, '(file)')).toEqual([
      `${top}:1:8: rules: must be a list of rule files, relative to the test file, got "shell.yaml"`,
      `${top}:2:1: default: unknown key (expected one of rules, defaults, tests)`,
      `${top}:3:11: defaults: must be a mapping of event fields, e.g. { container.id: c1 }`,
      `${top}:8:42: tests[0].expect[0].cnt: unknown key (expected one of rule, count)`,
    ]);
    expect(failuresOf(r.stdout, join(d, 'tests.test.yaml'), '(file)')).toEqual([`${join(d, 'tests.test.yaml')}:2:8: tests: must be a list of test cases`]);
    expect(failuresOf(r.stdout, join(d, 'none.test.yaml'), '(file)')).toEqual([`${join(d, 'none.test.yaml')}:2:8: tests: has no test cases: a file that tests nothing cannot pass`]);
    expect(r.stdout).toMatch(/^0 passed, 3 failed$/m);
  });

  it('a missing events_file and an unknown rule name are reported at their lines', async () => {
    const d = tmp({
      'shell.yaml': SHELL_RULE,
      'refs.test.yaml':
        'rules: [shell.yaml]\ntests:\n  - name: no such events file\n    events_file: missing.jsonl\n    expect: []\n  - name: misspelt rules\n    events:\n      - { evt.type: execve }\n    expect: [{ rule: Shel, count: 0 }, { rule: Shell in a container, count: 0 }]\n',
    });
    const file = join(d, 'refs.test.yaml');
    const r = await lanner(['rules', 'test', d]);
    expect(r.code).toBe(1);
    expect(failuresOf(r.stdout, file, 'no such events file')[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:18: events_file: cannot read .*missing\\.jsonl`));
    expect(failuresOf(r.stdout, file, 'misspelt rules')).toEqual([
      `${file}:9:22: expect: no loaded rule is named "Shel"`,
      `${file}:9:48: expect: no loaded rule is named "Shell in a container"`,
    ]);
  });
});

/** Runs `lanner ARGS | head -c N`: the reader goes away after the first chunk of output. */
function lannerReadOnce(args: readonly string[]): Promise<{ code: number | null; first: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LANNER_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let first = '';
    let stderr = '';
    child.stdout.once('data', (d: Buffer) => {
      first = d.toString();
      child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, first, stderr }));
  });
}

describe('lanner rules: a reader that closes early', () => {
  // Far more output than a pipe holds, so writes go on after the reader has gone.
  const many = (condition: string): string =>
    Array.from({ length: 2000 }, (_, i) => `- rule: Rule ${i}\n  desc: d\n  condition: ${condition}\n  output: o\n  priority: INFO\n`).join('\n');

  it('lint | head -1 ends quietly with lint\'s own exit code', async () => {
    const d = tmp({ 'warnings.yaml': many('proc.name = sh'), 'errors.yaml': many('evt.type = open and') });
    const warned = await lannerReadOnce(['rules', 'lint', join(d, 'warnings.yaml')]);
    expect(warned.first).toContain('warning');
    expect(warned.stderr).toBe('');
    expect(warned.code).toBe(0);
    const failed = await lannerReadOnce(['rules', 'lint', join(d, 'errors.yaml')]);
    expect(failed.first).toContain('error');
    expect(failed.stderr).toBe('');
    expect(failed.code).toBe(1);
  });

  it('test | head -1 ends quietly with exit 1 for the failures', async () => {
    const cases = Array.from({ length: 3000 }, (_, i) => `  - name: case ${i} expected silence\n    events:\n      - ${SHELL_EVENT}\n    expect: []\n`).join('');
    const d = tmp({ 'shell.yaml': SHELL_RULE, 'many.test.yaml': `rules: [shell.yaml]\ntests:\n${cases}` });
    const r = await lannerReadOnce(['rules', 'test', d]);
    expect(r.first).toContain('FAIL');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
  });
});
