import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeBaselines } from '../../src/detect/stateful/baseline-store.js';
import { assertBuilt, lanner } from '../support/cli.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

beforeAll(assertBuilt);

function tmp(files: Record<string, string>): string {
  const d = tempDir('cli-rules');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

describe('lanner rules', () => {
  it('test: the shipped rule tests all pass', async () => {
    const r = await lanner(['rules', 'test', 'rules/tests']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^(\d+) passed, 0 failed$/m);
    expect(Number(/^(\d+) passed/m.exec(r.stdout)![1])).toBeGreaterThanOrEqual(74);
  });

  it('test: a failing case is named with what differed, and exits 1', async () => {
    const d = tmp({
      'shell.yaml': '- rule: Shell in container\n  desc: a shell\n  condition: evt.type = execve and proc.name = sh and container.id != host\n  output: shell %proc.name\n  priority: WARNING\n  tags: [shell_spawn, T1059.004]\n',
      'shell.test.yaml':
        'rules: [shell.yaml]\ntests:\n  - name: shell alerts\n    events:\n      - { evt.type: execve, proc.name: sh, container.id: c1 }\n    expect: [{ rule: Shell in container }]\n  - name: wrongly expected silence\n    events:\n      - { evt.type: execve, proc.name: sh, container.id: c1 }\n    expect: []\n',
    });
    const r = await lanner(['rules', 'test', d]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL');
    expect(r.stdout).toContain('wrongly expected silence');
    expect(r.stdout).toContain('Shell in container: expected 0 alerts, got 1');
    expect(r.stdout).toContain('1 passed, 1 failed');
  });

  it('test: a look-alike case naming a rule that is not loaded fails instead of passing unchecked', async () => {
    const d = tmp({
      'shell.yaml': '- rule: Shell in container\n  desc: a shell\n  condition: evt.type = execve and proc.name = sh and container.id != host\n  output: shell %proc.name\n  priority: WARNING\n  tags: [shell_spawn, T1059.004]\n',
      'shell.test.yaml':
        'rules: [shell.yaml]\ntests:\n  - name: probe stays silent\n    events:\n      - { evt.type: execve, proc.name: wget, container.id: c1 }\n    expect: [{ rule: Shell in container, count: 0 }]\n  - name: misspelt silence\n    events:\n      - { evt.type: execve, proc.name: wget, container.id: c1 }\n    expect: [{ rule: Shell in a container, count: 0 }]\n',
    });
    const r = await lanner(['rules', 'test', d]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('misspelt silence');
    expect(r.stdout).toContain('no loaded rule is named "Shell in a container"');
    expect(r.stdout).toContain('1 passed, 1 failed');
  });

  it('lint: every problem as file:line:col, exit 1 on errors, and a JSON report', async () => {
    const d = tmp({ 'bad.yaml': '- rule: Bad\n  desc: d\n  condition: evt.type = open and\n  output: x\n  priority: LOUD\n' });
    const r = await lanner(['rules', 'lint', d]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/bad\.yaml:3:\d+: error: .*\[LANNER_RULE_PARSE\]/);
    expect(r.stdout).toMatch(/bad\.yaml:5:\d+: error: .*\[LANNER_RULE_BAD_PRIORITY\]/);
    const j = await lanner(['rules', 'lint', '--json', d]);
    const report = JSON.parse(j.stdout) as { rules: number; problems: { file: string; line: number; severity: string }[] };
    expect(report.problems.filter((p) => p.severity === 'error').map((p) => p.line).sort()).toEqual([3, 5]);
    expect((await lanner(['rules', 'lint', 'rules'])).code).toBe(0);
  });
});

describe('lanner rules lint, problems of several files', () => {
  it('lists them in load order: a stateful-key problem of the first file comes before the second file', async () => {
    const d = tmp({
      'a.yaml': '- rule: Burst\n  desc: d\n  condition: evt.type = connect\n  threshold: { count: 3, within: soon, by: [container.id] }\n  output: burst\n  priority: WARNING\n',
      'b.yaml': '- rule: Broken\n  desc: d\n  condition: evt.type = execve and and\n  output: x\n  priority: WARNING\n',
    });
    const r = await lanner(['rules', 'lint', d]);
    expect(r.code).toBe(1);
    const files = r.stdout.split('\n').filter((l) => /: (error|warning|info): /.test(l)).map((l) => l.slice(d.length + 1, d.length + 7));
    expect(files).toEqual(['a.yaml', 'b.yaml']);
  });
});

describe('lanner baseline', () => {
  it('shows learned profiles and resets one rule', async () => {
    const state = join(tmp({}), 'state.json');
    writeBaselines(
      state,
      new Map([
        ['New process in workload', [{ workload: 'shop\u001fshop/api', firstMs: 0, lastMs: 10, values: ['node', 'wget'] }]],
        ['First egress', [{ workload: 'shop\u001fshop/web', firstMs: 0, lastMs: 10, values: ['10.0.0.1'] }]],
      ]),
    );
    const shown = await lanner(['baseline', 'show', '--state', state]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('New process in workload\tshop/shop/api\t2 values');
    const reset = await lanner(['baseline', 'reset', '--state', state, '--rule', 'First egress']);
    expect(reset.stderr).toContain('removed 1 profiles');
    const after = await lanner(['baseline', 'show', '--state', state, '--json']);
    expect((JSON.parse(after.stdout) as { rule: string }[]).map((p) => p.rule)).toEqual(['New process in workload']);
  });
});
