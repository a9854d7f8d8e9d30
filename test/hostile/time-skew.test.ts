/**
 * Forged event times against the whole pipeline, assembled as `lanner run` and `lanner replay`
 * assemble it, with the shipped rules: an attacker who can post events stamps them far in the
 * future (to move dedup, cooldowns and windows forward, so the real attack that follows is folded
 * away or expires unseen) or far in the past. The real attack must raise the same alerts as it
 * does alone.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { loadConfig } from '../../src/config/config.js';
import { stringifyExact } from '../../src/core/exact-json.js';
import { createLogger } from '../../src/core/log.js';
import { nowNs } from '../../src/core/time.js';
import { buildScenario } from '../../src/demo/scenario.js';
import { JsonLinesSource } from '../../src/ingest/json-lines.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Output } from '../../src/outputs/output.js';
import { assemble, type PipelineMode } from '../../src/service/assemble.js';
import { REPO_ROOT } from '../support/shared.js';

const YEAR_NS = 365n * 86_400n * 1_000_000_000n;
/** The real attack: an hour ago, as a live service reading Falco's file output would see it. */
const T0 = ((nowNs() - 3_600n * 1_000_000_000n) / 1_000_000_000n) * 1_000_000_000n;

const lines = (startNs: bigint): string[] => buildScenario(startNs).map(({ json }) => stringifyExact(json));

function inputFile(text: readonly string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lanner-time-skew-')), 'events.jsonl');
  writeFileSync(file, text.join('\n') + '\n');
  return file;
}

interface Run {
  readonly alerts: Alert[];
  readonly refusedInFuture: number;
}

async function run(mode: PipelineMode, text: readonly string[]): Promise<Run> {
  const config = loadConfig({ env: {}, overrides: { rules: [join(REPO_ROOT, 'rules')], 'server.listen': '' } });
  const logger = createLogger('silent');
  const metrics = createMetrics({ processMetrics: false });
  const input = new JsonLinesSource(inputFile(text), logger);
  const alerts: Alert[] = [];
  const out: Output = { name: 'collect', send: (a) => void alerts.push(a), flush: async () => undefined, close: async () => undefined };
  const service = await assemble(config, { mode, logger, metrics, sources: [input], outputs: [out] });
  await service.start();
  await input.finished();
  await service.drain();
  await service.close();
  const invalid = (await metrics.eventsInvalid.get()).values.find((v) => v.labels['reason'] === 'time_in_future');
  return { alerts, refusedInFuture: invalid?.value ?? 0 };
}

/** What an analyst reads of each detection alert: when, which rule, what it says, how many it folds. */
const detections = (alerts: readonly Alert[], from = 0n): string[] =>
  alerts.filter((a) => !a.action && a.timeNs >= from).map((a) => `${a.timeNs} ${a.rule} x${a.count}: ${a.output}`);

describe('forged event times', () => {
  it('a live service refuses a far-future copy of the attack, and the real attack raises the same alerts as alone', async () => {
    const alone = await run('live', lines(T0));
    // The scenario raises alerts of several families: an empty list would prove nothing.
    expect(new Set(alone.alerts.map((a) => a.rule)).size).toBeGreaterThanOrEqual(6);
    const forged = lines(T0 + 10n * YEAR_NS);
    const attacked = await run('live', [...forged, ...lines(T0)]);
    expect(attacked.refusedInFuture).toBe(forged.length);
    expect(detections(attacked.alerts)).toEqual(detections(alone.alerts));
  });

  it('without the bound the same forged copy silences the real attack (what the bound is for)', async () => {
    // A replay takes a capture's times as they are: the forged copy goes through.
    const alone = await run('replay', lines(T0));
    const attacked = await run('replay', [...lines(T0 + 10n * YEAR_NS), ...lines(T0)]);
    expect(attacked.refusedInFuture).toBe(0);
    // The real alerts are folded into the forged incidents: what reaches the analyst differs.
    const real = detections(attacked.alerts).filter((d) => BigInt(d.split(' ')[0]!) < T0 + YEAR_NS);
    expect(real).not.toEqual(detections(alone.alerts));
  });

  it('takes an event within the skew: a node whose clock runs a minute ahead still alerts', async () => {
    const alone = await run('live', lines(T0));
    const ahead = await run('live', lines(nowNs() + 60n * 1_000_000_000n));
    expect(ahead.refusedInFuture).toBe(0);
    expect(ahead.alerts.map((a) => a.rule).sort()).toEqual(alone.alerts.map((a) => a.rule).sort());
  });

  it('a far-past copy of the attack sent first neither expires nor folds the real alerts', async () => {
    const alone = await run('live', lines(T0));
    const attacked = await run('live', [...lines(T0 - 10n * YEAR_NS), ...lines(T0)]);
    expect(attacked.refusedInFuture).toBe(0);
    expect(detections(attacked.alerts, T0)).toEqual(detections(alone.alerts));
  });

  it('an older copy sent right after each real event neither restarts a sequence nor ages a threshold', async () => {
    const alone = await run('live', lines(T0));
    const real = lines(T0);
    const older = lines(T0 - 20n * 60n * 1_000_000_000n);
    const interleaved = real.flatMap((line, i) => [line, older[i]!]);
    const attacked = await run('live', interleaved);
    const rulesOf = (alerts: readonly Alert[]): string[] => [...new Set(alerts.filter((a) => !a.action && a.timeNs >= T0).map((a) => a.rule))].sort();
    expect(rulesOf(attacked.alerts)).toEqual(rulesOf(alone.alerts));
  });

  it('replays a capture from any time, the future included: a replay is never "in the future"', async () => {
    const past = await run('replay', lines(1_750_000_000_000_000_000n));
    const future = await run('replay', lines(T0 + 10n * YEAR_NS));
    expect(future.refusedInFuture).toBe(0);
    expect(past.alerts.length).toBeGreaterThan(0);
    expect(future.alerts.map((a) => `${a.rule}: ${a.count}`)).toEqual(past.alerts.map((a) => `${a.rule}: ${a.count}`));
  });
});
