import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { LannerError } from '../../src/core/errors.js';
import { silentLogger, type Logger } from '../../src/core/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { runBaseline } from '../../src/cli/baseline.js';
import { RulesStage } from '../../src/service/rules-stage.js';
import { falcoEvent } from '../support/events.js';
import { waitFor } from '../support/wait.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

const THRESHOLD_RULE = `
- rule: Burst of connections
  condition: evt.type = connect
  threshold: { count: 3, within: 10s, by: [container.id] }
  output: burst from %container.id
  priority: WARNING
  tags: [unexpected_egress, T1041]
`;
const BASELINE_RULE = `
- rule: New process in workload
  condition: evt.type = execve
  baseline: { by: [container.image.repository], learn: [proc.name], period: 1m }
  output: new process %proc.name in %container.image.repository
  priority: NOTICE
  tags: [drift, T1059]
`;

function dir(files: Record<string, string>): string {
  const d = tempDir('rules');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

function stage(paths: string[], stateFile = '', options: { logger?: Logger; saveIntervalMs?: number } = {}): RulesStage {
  return new RulesStage({
    paths,
    bounds: { maxKeys: 1000, ttlMs: 600_000 },
    stateFile,
    saveIntervalMs: options.saveIntervalMs ?? 60_000,
    logger: options.logger ?? silentLogger(),
    metrics: createMetrics({ processMetrics: false }),
  });
}

/** A logger whose lines the test reads. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }), lines };
}

const connect = (ms: number) => falcoEvent({ tags: ['lanner_feed'], timeNs: 1_000_000_000_000_000_000n + BigInt(ms) * 1_000_000n, fields: { 'evt.type': 'connect', 'container.id': 'c1' } });
const exec = (ms: number, proc: string, image = 'shop/api') =>
  falcoEvent({ tags: ['lanner_feed'], timeNs: 1_000_000_000_000_000_000n + BigInt(ms) * 1_000_000n, fields: { 'evt.type': 'execve', 'proc.name': proc, 'container.image.repository': image } });

describe('RulesStage', () => {
  it('refuses to start on broken rules, naming file, line and column', () => {
    const d = dir({ 'bad.yaml': '- rule: Broken\n  condition: evt.type = execve and and\n  output: x\n  priority: WARNING\n' });
    try {
      stage([d]);
      expect.unreachable();
    } catch (err) {
      expect((err as LannerError).code).toBe('LANNER_RULES_INVALID');
      expect((err as LannerError).problems[0]).toMatch(/bad\.yaml:2:\d+: error: /);
    }
  });

  it('names at start the rules that read fields the feed does not forward, with the fields', async () => {
    const d = dir({
      'r.yaml': `
- rule: Long running shell
  condition: evt.type = execve and proc.name = bash and proc.duration > 1000
  output: x
  priority: NOTICE
- rule: Plain shell
  condition: evt.type = execve and proc.name = bash
  output: x
  priority: NOTICE
`,
    });
    const { logger, lines } = capturingLogger();
    stage([d], '', { logger }).close();
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; rules?: string[] }).find((l) => l.msg.includes('do not match as written'));
    expect(warned?.rules).toEqual([`rule 'Long running shell' reads fields Lanner's feed does not forward, so it can never match: proc.duration`]);
  });

  it('keeps the rules in force when a reload is broken, and keeps unchanged rules state across a good one', async () => {
    const d = dir({ 'egress.yaml': THRESHOLD_RULE });
    const s = stage([d]);
    const out: Alert[] = [];
    s.engine.process(connect(0), out);
    s.engine.process(connect(1), out);

    writeFileSync(join(d, 'egress.yaml'), THRESHOLD_RULE + '\n- rule: Oops\n  condition: (evt.type = open\n  output: x\n  priority: WARNING\n');
    expect(await s.reload()).toBe(false);
    // Still the old engine: the third connection completes the burst begun before.
    s.engine.process(connect(2), out);
    expect(out.map((a) => a.rule)).toEqual(['Burst of connections']);

    s.engine.process(connect(3), out);
    s.engine.process(connect(4), out);
    writeFileSync(join(d, 'egress.yaml'), THRESHOLD_RULE + BASELINE_RULE);
    expect(await s.reload()).toBe(true);
    // The threshold rule did not change: its two counted connections survive the reload.
    s.engine.process(connect(5), out);
    expect(out.map((a) => a.rule)).toEqual(['Burst of connections', 'Burst of connections']);
    expect(s.engine.rules.map((r) => r.name)).toEqual(['Burst of connections', 'New process in workload']);
    s.close();
  });

  it('saves learned baselines and enforces them after a restart', () => {
    const d = dir({ 'drift.yaml': BASELINE_RULE });
    const stateFile = join(dir({}), 'state', 'baselines.json');
    const before = stage([d], stateFile);
    const out: Alert[] = [];
    before.engine.process(exec(0, 'node'), out);
    before.engine.process(exec(10, 'wget'), out);
    before.close();

    const after = stage([d], stateFile);
    after.engine.process(exec(120_000, 'node'), out);
    after.engine.process(exec(120_001, 'nc'), out);
    expect(out.map((a) => a.output)).toEqual([expect.stringContaining('new process nc in shop/api')]);
    after.close();
  });

  it('keeps the profiles of a baseline rule that is not loaded for a while, and gives them back when it returns', async () => {
    const d = dir({ 'drift.yaml': BASELINE_RULE });
    const stateFile = join(dir({}), 'baselines.json');
    const out: Alert[] = [];
    const first = stage([d], stateFile);
    first.engine.process(exec(0, 'node'), out);
    first.close();

    // Restarted without the rule: its profiles stay in the state file.
    writeFileSync(join(d, 'drift.yaml'), THRESHOLD_RULE);
    const without = stage([d], stateFile);
    without.close();
    // Back by a reload: the rule takes up what it had learned.
    const back = stage([d], stateFile);
    writeFileSync(join(d, 'drift.yaml'), BASELINE_RULE);
    expect(await back.reload()).toBe(true);
    back.engine.process(exec(120_000, 'node'), out);
    back.engine.process(exec(120_001, 'nc'), out);
    expect(out.map((a) => a.output)).toEqual([expect.stringContaining('new process nc in shop/api')]);
    // Out again by a reload, then saved: still there for the next start.
    writeFileSync(join(d, 'drift.yaml'), THRESHOLD_RULE);
    expect(await back.reload()).toBe(true);
    back.close();
    writeFileSync(join(d, 'drift.yaml'), BASELINE_RULE);
    const last = stage([d], stateFile);
    out.length = 0;
    last.engine.process(exec(200_000, 'nc'), out);
    last.engine.process(exec(200_001, 'node'), out);
    last.engine.process(exec(200_002, 'curl'), out);
    expect(out.map((a) => a.output)).toEqual([expect.stringContaining('new process curl in shop/api')]);
    last.close();
  });

  it('forgets, while running, the profiles `lanner baseline reset` removed from the state file, and keeps the rest', async () => {
    const d = dir({ 'drift.yaml': BASELINE_RULE });
    const stateFile = join(dir({}), 'baselines.json');
    const { logger, lines } = capturingLogger();
    const s = stage([d], stateFile, { logger, saveIntervalMs: 20 });
    const out: Alert[] = [];
    s.engine.process(exec(0, 'node', 'shop/api'), out);
    s.engine.process(exec(0, 'nginx', 'shop/web'), out);
    s.start();
    try {
      await waitFor(() => existsSync(stateFile) && readFileSync(stateFile, 'utf8').includes('shop/web'), { what: 'the first save' });
      expect(await runBaseline(['reset', '--state', stateFile, '--workload', 'shop/api'])).toBe(0);
      await waitFor(() => lines.some((l) => l.includes('reset in the state file are forgotten')), { what: 'the reset to be taken up' });
      // shop/api learns again from its next event (no alert while learning); shop/web still enforces.
      s.engine.process(exec(120_000, 'nc', 'shop/api'), out);
      s.engine.process(exec(120_001, 'nc', 'shop/web'), out);
      expect(out.map((a) => a.output)).toEqual([expect.stringContaining('new process nc in shop/web')]);
      // A profile learned after the reset is not taken for a reset one at later saves.
      await waitFor(() => readFileSync(stateFile, 'utf8').includes('"nc"'), { what: 'a later save' });
      const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { rules: Record<string, { workload: string; values: string[] }[]> };
      expect(saved.rules['New process in workload']!.map((p) => [p.workload, p.values]).sort()).toEqual([
        ['shop/api', ['nc']],
        ['shop/web', ['nginx', 'nc']],
      ]);
    } finally {
      s.close();
    }
  });
});
