/**
 * Odd rule files: a FIFO, a symlink to /dev/zero, a socket, a directory named like a file, an
 * unreadable file, and files around the size limit, each through the real `lanner rules lint`
 * and through the loader, answered at once with the file named; `check` and `run` answer too;
 * a reload that meets one keeps the rules in force.
 */
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../../src/core/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { loadRules, loadRulesSync, RULE_FILE_MAX_BYTES, type LoadResult } from '../../src/rules/load/loader.js';
import { RulesStage } from '../../src/service/rules-stage.js';
import { assertBuilt } from '../support/cli.js';
import { lannerWithin, makeFifo, makeUnreadable, NOBODY, ODD_ENTRIES, rulesTextOfSize, RUNNING_AS_ROOT, tempDir } from './file-helpers.js';

const GOOD_RULE = '- rule: Good\n  desc: a rule that loads\n  condition: evt.type = execve\n  output: good\n  priority: WARNING\n';
beforeAll(assertBuilt);

const OTHER_RULE = '- rule: Other\n  desc: another rule that loads\n  condition: evt.type = connect\n  output: other\n  priority: WARNING\n';

/** Both ways the loader runs: paced (reload) and at once (start, CLI). */
const LOADERS: readonly { name: string; load: (paths: string[]) => Promise<LoadResult> | LoadResult }[] = [
  { name: 'loadRules', load: (paths) => loadRules(paths) },
  { name: 'loadRulesSync', load: (paths) => loadRulesSync(paths) },
];

function lines(result: LoadResult): string[] {
  return result.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.severity}: ${p.message} [${p.code}]`);
}

describe('an odd entry given as the rule file', () => {
  for (const entry of ODD_ENTRIES.filter((e) => e.slug !== 'directory')) {
    it(`${entry.name}: lint exits 1 at once with an error at the file`, async () => {
      const path = join(tempDir(), `${entry.slug}.yaml`);
      entry.make(path);
      const r = await lannerWithin(['rules', 'lint', path]);
      expect(r.killed, 'lanner rules lint hung').toBe(false);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const line = r.stdout.split('\n').find((l) => l.startsWith(`${path}:1:1: error: `));
      expect(line).toMatch(entry.kind);
      expect(line).toMatch(/not a regular file.*\[LANNER_RULE_READ\]$/);

      for (const { load } of LOADERS) {
        const result = await load([path]);
        expect(result.ok).toBe(false);
        expect(result.problems).toHaveLength(1);
        expect(result.problems[0]).toMatchObject({ file: path, line: 1, col: 1, severity: 'error', code: 'LANNER_RULE_READ' });
        expect(result.problems[0]!.message).toMatch(entry.kind);
      }
    });
  }

  it('a directory named like a file is read as a rules directory, and said to hold none', async () => {
    const path = join(tempDir(), 'directory.yaml');
    ODD_ENTRIES.find((e) => e.slug === 'directory')!.make(path);
    const r = await lannerWithin(['rules', 'lint', path]);
    expect(r.killed).toBe(false);
    expect(r.stdout).toContain(`${path}:1:1: warning: rules directory ${path} holds no rule files (*.yaml, *.yml) [LANNER_RULE_READ]`);
    for (const { load } of LOADERS) expect(lines(await load([path]))).toEqual([`${path}:1:1: warning: rules directory ${path} holds no rule files (*.yaml, *.yml) [LANNER_RULE_READ]`]);
  });

  // Root reads any file: as root, the command runs as nobody, for whom the file is unreadable.
  it('an unreadable file: lint exits 1 with an error at the file, permission denied', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const path = join(dir, 'unreadable.yaml');
    makeUnreadable(path);
    const r = await lannerWithin(['rules', 'lint', path], 15_000, RUNNING_AS_ROOT ? NOBODY : undefined);
    expect(r.killed).toBe(false);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain(`${path}:1:1: error: rule file ${path} cannot be read: permission denied [LANNER_RULE_READ]`);
  });

  it.skipIf(RUNNING_AS_ROOT)('an unreadable file: the loader gives an error at the file (skipped as root: root reads any file)', async () => {
    const path = join(tempDir(), 'unreadable.yaml');
    makeUnreadable(path);
    for (const { load } of LOADERS) expect((await load([path])).problems[0]).toMatchObject({ file: path, severity: 'error', code: 'LANNER_RULE_READ' });
  });
});

describe('odd entries in a rules directory', () => {
  it('are skipped with a warning naming each; the regular files load', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'good.yaml'), GOOD_RULE);
    for (const entry of ODD_ENTRIES) entry.make(join(dir, `${entry.slug}.yaml`));
    const r = await lannerWithin(['rules', 'lint', dir]);
    expect(r.killed, 'lanner rules lint hung').toBe(false);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const entry of ODD_ENTRIES) {
      const path = join(dir, `${entry.slug}.yaml`);
      const line = r.stdout.split('\n').find((l) => l.startsWith(`${path}:1:1: warning: `));
      expect(line, `no warning for ${entry.name}`).toMatch(entry.kind);
      expect(line).toMatch(/not a regular file: skipped \[LANNER_RULE_READ\]$/);
    }
    expect(r.stdout).toMatch(/^1 file: 1 rule, 0 macros, 0 lists; 0 errors, 4 warnings$/m);

    for (const { load } of LOADERS) {
      const result = await load([dir]);
      expect(result.ok).toBe(true);
      expect(result.files).toEqual([join(dir, 'good.yaml')]);
      expect(result.ruleSet.rules.map((x) => x.name)).toEqual(['Good']);
      expect(result.problems.filter((p) => p.code === 'LANNER_RULE_READ').map((p) => p.file).sort()).toEqual(ODD_ENTRIES.map((e) => join(dir, `${e.slug}.yaml`)).sort());
    }
  });

  it('an unreadable regular file is an error, not skipped', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'good.yaml'), GOOD_RULE);
    makeUnreadable(join(dir, 'secret.yaml'));
    const r = await lannerWithin(['rules', 'lint', dir], 15_000, RUNNING_AS_ROOT ? NOBODY : undefined);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain(`${join(dir, 'secret.yaml')}:1:1: error: rule file ${join(dir, 'secret.yaml')} cannot be read: permission denied [LANNER_RULE_READ]`);
    if (!RUNNING_AS_ROOT) for (const { load } of LOADERS) expect((await load([dir])).ok).toBe(false);
  });
});

describe('the rule file size limit', () => {
  const dir = tempDir();
  const sized = (bytes: number): string => {
    const path = join(dir, `size-${bytes}.yaml`);
    writeFileSync(path, rulesTextOfSize(bytes));
    return path;
  };
  const below = sized(RULE_FILE_MAX_BYTES - 1);
  const at = sized(RULE_FILE_MAX_BYTES);
  const above = sized(RULE_FILE_MAX_BYTES + 1);
  const tooLarge = (path: string): string =>
    `${path}:1:1: error: rule file ${path} is ${RULE_FILE_MAX_BYTES + 1} bytes, over the limit of ${RULE_FILE_MAX_BYTES} bytes (4 MiB) for a rule file: refusing to read it [LANNER_RULE_READ]`;

  it('is 4 MiB', () => expect(RULE_FILE_MAX_BYTES).toBe(4 * 1024 * 1024));

  it('loads a file one byte below and at it, and refuses one a byte above, naming it (loader)', async () => {
    for (const { load } of LOADERS) {
      for (const path of [below, at]) {
        const result = await load([path]);
        expect(lines(result)).toEqual([]);
        expect(result.ruleSet.rules.map((x) => x.name)).toEqual(['Sized']);
      }
      expect(lines(await load([above]))).toEqual([tooLarge(above)]);
    }
  });

  it('loads a file one byte below and at it, and refuses one a byte above, naming it (lanner rules lint)', async () => {
    for (const path of [below, at]) {
      const r = await lannerWithin(['rules', 'lint', path]);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toContain('1 file: 1 rule, 0 macros, 0 lists; 0 errors, 0 warnings');
    }
    const r = await lannerWithin(['rules', 'lint', above]);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe(tooLarge(above));
  });
});

describe('check and run meet a FIFO for a rule file', () => {
  it('check answers at once, not ready, naming the file', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'rules.yaml');
    makeFifo(fifo);
    const config = join(dir, 'lanner.yaml');
    writeFileSync(config, `ingest: { http: { listen: 127.0.0.1:0 } }\nrules: [${fifo}]\n`);
    const r = await lannerWithin(['check', '--config', config]);
    expect(r.killed, 'lanner check hung').toBe(false);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^${fifo}:1:1: error: rule file ${fifo} is a FIFO`, 'm'));
    expect(r.stdout).toMatch(/^NOT ready: 1 rule error$/m);
  });

  it('run refuses to start at once, naming the file', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'rules.yaml');
    makeFifo(fifo);
    const config = join(dir, 'lanner.yaml');
    const input = join(dir, 'events.jsonl');
    writeFileSync(config, '{}\n');
    writeFileSync(input, '');
    const r = await lannerWithin(['run', '--config', config, '--rules', fifo, '--input', input, '--metrics-listen', '127.0.0.1:0']);
    expect(r.killed, 'lanner run hung').toBe(false);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('LANNER_RULES_INVALID');
    expect(r.stderr).toContain(`rule file ${fifo} is a FIFO`);
  });
});

describe('rules test meets a FIFO', () => {
  it('for a test file, and for the events file of a case: each fails at once, naming it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'good.yaml'), GOOD_RULE);
    makeFifo(join(dir, 'pipe.test.yaml'));
    makeFifo(join(dir, 'events.jsonl'));
    writeFileSync(join(dir, 'good.test.yaml'), 'rules: [good.yaml]\ntests:\n  - name: from a pipe\n    events_file: events.jsonl\n    expect: [{ rule: Good }]\n');
    const r = await lannerWithin(['rules', 'test', dir]);
    expect(r.killed, 'lanner rules test hung').toBe(false);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${join(dir, 'pipe.test.yaml')}: rule test file ${join(dir, 'pipe.test.yaml')} is a FIFO (named pipe), not a regular file`);
    expect(r.stdout).toContain(`events_file: cannot read ${join(dir, 'events.jsonl')}: events file ${join(dir, 'events.jsonl')} is a FIFO (named pipe), not a regular file`);
    expect(r.stdout).toContain('0 passed, 2 failed');
  });
});

describe('a reload that meets an odd file', () => {
  function capturingLogger(): { logger: Logger; logged: () => { msg: string; problem?: string; problems?: string[] }[] } {
    const out: string[] = [];
    return { logger: pino({ level: 'info' }, { write: (line: string) => void out.push(line) }), logged: () => out.map((l) => JSON.parse(l) as { msg: string }) };
  }
  function stage(paths: string[], logger: Logger = silentLogger()): RulesStage {
    return new RulesStage({ paths, bounds: { maxKeys: 1000, ttlMs: 600_000 }, stateFile: '', saveIntervalMs: 60_000, logger, metrics: createMetrics({ processMetrics: false }) });
  }
  const names = (s: RulesStage): string[] => s.engine.rules.map((r) => r.name);

  it('keeps the rules in force when a rule file grows past the limit, and takes the next good one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'good.yaml'), GOOD_RULE);
    const { logger, logged } = capturingLogger();
    const s = stage([dir], logger);
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, rulesTextOfSize(RULE_FILE_MAX_BYTES + 1));
    expect(await s.reload()).toBe(false);
    expect(names(s)).toEqual(['Good']);
    const refused = logged().find((l) => l.msg.startsWith('rule reload refused'));
    expect(refused?.problems?.[0]).toContain(`rule file ${huge} is ${RULE_FILE_MAX_BYTES + 1} bytes, over the limit`);
    rmSync(huge);
    writeFileSync(join(dir, 'other.yaml'), OTHER_RULE);
    expect(await s.reload()).toBe(true);
    expect(names(s)).toEqual(['Good', 'Other']);
    s.close();
  });

  it('keeps the rules in force when the rule file is replaced by a FIFO', async () => {
    const dir = tempDir();
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, GOOD_RULE);
    const s = stage([file]);
    const fifo = join(dir, 'fifo');
    makeFifo(fifo);
    renameSync(fifo, file);
    const started = performance.now();
    expect(await s.reload()).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(names(s)).toEqual(['Good']);
    s.close();
  });

  it('skips a FIFO that appears in a rules directory, saying so, and applies the rest', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'good.yaml'), GOOD_RULE);
    const { logger, logged } = capturingLogger();
    const s = stage([dir], logger);
    makeFifo(join(dir, 'pipe.yaml'));
    writeFileSync(join(dir, 'other.yaml'), OTHER_RULE);
    expect(await s.reload()).toBe(true);
    expect(names(s)).toEqual(['Good', 'Other']);
    const warned = logged().filter((l) => l.msg === 'rule warning').map((l) => l.problem);
    expect(warned).toContain(`${join(dir, 'pipe.yaml')}:1:1: warning: ${join(dir, 'pipe.yaml')} is a FIFO (named pipe), not a regular file: skipped [LANNER_RULE_READ]`);
    s.close();
  });
});
