/**
 * The one pipeline assembly: the same events through `live` and `replay` give the same alerts,
 * which is what lets an analyst trust a replay of a capture; and what differs between the modes
 * (node stamp, responders, learned state) is what the mode says, nothing more.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/core/log.js';
import { buildScenario } from '../../src/demo/scenario.js';
import { JsonLinesSource } from '../../src/ingest/json-lines.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Output } from '../../src/outputs/output.js';
import { assemble, type PipelineMode } from '../../src/service/assemble.js';
import { HAVE_SHARED, REPO_ROOT, SHARED_DIR } from '../support/shared.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

const T0 = 1_750_000_000_000_000_000n;

/** The demo's attack story and its benign noise, as Falco's file output would write it. */
function scenarioFile(): string {
  const dir = tempDir('assemble');
  const file = join(dir, 'events.jsonl');
  const lines = buildScenario(T0).map(({ json }) => JSON.stringify(json, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000${v}` : v)).replace(/"\\u0000(\d+)"/g, '$1'));
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function collector(): Output & { readonly alerts: Alert[] } {
  const alerts: Alert[] = [];
  return { name: 'collect', alerts, send: (a) => void alerts.push(a), flush: async () => undefined, close: async () => undefined };
}

async function run(mode: PipelineMode, file: string): Promise<Alert[]> {
  const config = loadConfig({ env: {}, overrides: { rules: [join(REPO_ROOT, 'rules')], node_name: 'node-a', cluster: 'prod', 'server.listen': '' } });
  const logger = createLogger('silent');
  const input = new JsonLinesSource(file, logger);
  const out = collector();
  const service = await assemble(config, { mode, logger, metrics: createMetrics({ processMetrics: false }), sources: [input], outputs: [out] });
  await service.start();
  await input.finished();
  await service.drain();
  await service.close();
  return out.alerts;
}

const detection = (alerts: readonly Alert[]): string[] => alerts.filter((a) => !a.action).map((a) => `${a.timeNs} ${a.rule}: ${a.output}`);

describe('assemble', () => {
  it('gives the same alerts for the same events, live or replayed', async () => {
    const file = scenarioFile();
    const live = await run('live', file);
    const replay = await run('replay', file);
    // The scenario raises alerts of all six families: an empty list would prove nothing.
    expect(new Set(replay.map((a) => a.rule)).size).toBeGreaterThanOrEqual(6);
    expect(detection(live)).toEqual(detection(replay));
  });

  it('stamps the node and runs the responders live; a replay stamps nothing and acts on nothing', async () => {
    const file = scenarioFile();
    const live = await run('live', file);
    const replay = await run('replay', file);
    expect(live.filter((a) => !a.action).every((a) => a.node === 'node-a' && a.cluster === 'prod')).toBe(true);
    // The escape asks for a quarantine: live decides it (dry run by default) and audits it.
    expect(live.some((a) => a.action?.name === 'quarantine')).toBe(true);
    expect(replay.some((a) => a.action !== undefined)).toBe(false);
    expect(replay.every((a) => a.node === undefined && a.cluster === undefined)).toBe(true);
  });

  it.skipIf(!HAVE_SHARED)('replays every real trace with the shipped rules and the default configuration: silent but for the privileged container start', async () => {
    const dir = join(SHARED_DIR, 'falco-samples', 'traces');
    const traces = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
    const config = loadConfig({ env: {}, overrides: { rules: [join(REPO_ROOT, 'rules')], 'server.listen': '' } });
    const byTrace = new Map<string, string[]>();
    for (const trace of traces) {
      const logger = createLogger('silent');
      const input = new JsonLinesSource(join(dir, trace), logger);
      const out = collector();
      const service = await assemble(config, { mode: 'replay', logger, metrics: createMetrics({ processMetrics: false }), sources: [input], outputs: [out] });
      await service.start();
      await input.finished();
      await service.drain();
      await service.close();
      byTrace.set(trace, out.alerts.map((a) => a.rule));
    }
    expect(byTrace.size).toBeGreaterThanOrEqual(12);
    for (const [trace, rules] of byTrace) expect(rules, trace).toEqual(trace === 'falco_privileged.falco.jsonl' ? ['Privileged container started'] : []);
  });

  it('refuses to assemble with no source, naming the flags that add one', async () => {
    const config = loadConfig({ env: {} });
    const logger = createLogger('silent');
    await expect(assemble(config, { mode: 'live', logger, metrics: createMetrics({ processMetrics: false }) })).rejects.toMatchObject({ code: 'LANNER_NO_SOURCE' });
  });
});
