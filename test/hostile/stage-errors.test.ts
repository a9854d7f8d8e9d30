/**
 * An event (or alert) that makes a stage throw is skipped by that stage, counted by stage, and
 * detection goes on: the real attack that follows still raises the same alerts as without it.
 * A stream that errored would stop detection for good, silencing every alert after it.
 */
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { AlertLifecycle, alertLifecycle } from '../../src/alerts/lifecycle/lifecycle.js';
import { loadConfig } from '../../src/config/config.js';
import type { JsonValue } from '../../src/core/exact-json.js';
import type { FalcoEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/log.js';
import { buildScenario } from '../../src/demo/scenario.js';
import { normalizeFalcoJson } from '../../src/ingest/normalize.js';
import type { EventSink, Source } from '../../src/ingest/source.js';
import { createMetrics, DETECTION_STAGES, type LannerMetrics } from '../../src/metrics/metrics.js';
import { stageErrorHandler } from '../../src/metrics/stage-errors.js';
import type { Output } from '../../src/outputs/output.js';
import { assemble } from '../../src/service/assemble.js';
import { REPO_ROOT } from '../support/shared.js';

const T0 = 1_750_000_000_000_000_000n;

/** The demo's attack story and its benign noise, normalized as the file source would. */
function scenarioEvents(): FalcoEvent[] {
  return buildScenario(T0).map(({ json }) => {
    const n = normalizeFalcoJson(json as unknown as JsonValue, 'file');
    if (!n.ok) throw new Error(`scenario event refused: ${n.detail}`);
    return n.event;
  });
}

/**
 * A copy of `event` whose fields throw when any but `evt.type` is read: it passes the ingest
 * queue (which counts event types) and fails in the first stage that reads the event itself.
 */
function poisoned(event: FalcoEvent): FalcoEvent {
  const fields = new Proxy(event.fields, {
    get(target, key, receiver) {
      if (key !== 'evt.type') throw new Error('poisoned event');
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { ...event, fields };
}

/** Hands the events to the queue in order, waiting for room, as a file source does. */
function listSource(events: readonly FalcoEvent[]): Source & { done: Promise<void> } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    name: 'list',
    done,
    ready: () => null,
    close: async () => undefined,
    start: async (sink: EventSink) => {
      void (async () => {
        for (const event of events) {
          while (sink.full) await sink.whenRoom?.();
          sink.accept(event);
        }
        finish();
      })();
    },
  };
}

function collector(name: string, refuse?: (a: Alert) => boolean): Output & { readonly alerts: Alert[] } {
  const alerts: Alert[] = [];
  return {
    name,
    alerts,
    send: (a) => {
      if (refuse?.(a)) throw new Error(`${name} cannot format this alert`);
      alerts.push(a);
    },
    flush: async () => undefined,
    close: async () => undefined,
  };
}

async function errorsByStage(metrics: LannerMetrics): Promise<Record<string, number>> {
  const values = (await metrics.detectionErrors.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels['stage']), v.value]));
}

async function replay(events: readonly FalcoEvent[], refuse?: (a: Alert) => boolean): Promise<{ alerts: Alert[]; refusing: Alert[]; metrics: LannerMetrics; health: string | null }> {
  const config = loadConfig({ env: {}, overrides: { rules: [join(REPO_ROOT, 'rules')], 'server.listen': '' } });
  const logger = createLogger('silent');
  const metrics = createMetrics({ processMetrics: false });
  const source = listSource(events);
  const refusing = collector('refusing', refuse);
  const out = collector('collect');
  const service = await assemble(config, { mode: 'replay', logger, metrics, sources: [source], outputs: [refusing, out] });
  await service.start();
  await source.done;
  await service.drain();
  const health = service.health();
  await service.close();
  return { alerts: out.alerts, refusing: refusing.alerts, metrics, health };
}

const described = (alerts: readonly Alert[]): string[] => alerts.map((a) => `${a.timeNs} ${a.rule}: ${a.output} x${a.count}`);

describe('a stage that throws on one item', () => {
  it('skips that event in the rules and in the pass-through of Falco alerts, and every later alert still comes out', async () => {
    const events = scenarioEvents();
    const clean = await replay(events);
    const feed = events.find((e) => e.feed)!;
    const falcoAlert = events.find((e) => !e.feed)!;
    expect(feed).toBeDefined();
    expect(falcoAlert).toBeDefined();
    // Poison first: every real alert comes after the failures.
    const attacked = await replay([poisoned(feed), poisoned(falcoAlert), ...events]);
    expect(clean.alerts.length).toBeGreaterThan(5);
    expect(described(attacked.alerts)).toEqual(described(clean.alerts));
    expect(await errorsByStage(attacked.metrics)).toEqual({ falco_alerts: 1, rules: 1, lifecycle: 0, outputs: 0 });
    expect(attacked.health).toBeNull();
    expect(await errorsByStage(clean.metrics)).toEqual(Object.fromEntries(DETECTION_STAGES.map((s) => [s, 0])));
  });

  it('keeps an alert one output fails on from none of the other outputs, and counts each failure', async () => {
    const events = scenarioEvents();
    const clean = await replay(events);
    const victim = clean.alerts[1]!.rule;
    const refused = clean.alerts.filter((a) => a.rule === victim).length;
    const run = await replay(events, (a) => a.rule === victim);
    expect(described(run.alerts)).toEqual(described(clean.alerts));
    expect(run.refusing).toHaveLength(clean.alerts.length - refused);
    expect(await errorsByStage(run.metrics)).toMatchObject({ outputs: refused, rules: 0 });
    expect(run.health).toBeNull();
  });

  it('skips an alert the lifecycle fails on and lets the next through; without a handler the stream errors as before', async () => {
    const alerts = scenarioEvents()
      .filter((e) => !e.feed)
      .slice(0, 3)
      .map((e, i): Alert => ({ id: `a${i}`, timeNs: e.timeNs, rule: `rule ${i}`, priority: e.priority, source: e.source, hostname: e.hostname, output: e.output, tags: [], origin: 'falco', workload: {}, process: {}, evidence: [e], count: 1 }) as unknown as Alert);
    expect(alerts).toHaveLength(3);
    const failing = (): AlertLifecycle => {
      const lifecycle = new AlertLifecycle({ dedup: { cooldownMs: 60_000, maxKeys: 1000 }, suppressions: [], enrich: {} });
      const process = lifecycle.process.bind(lifecycle);
      lifecycle.process = (a: Alert) => {
        if (a.rule === 'rule 1') throw new Error('lifecycle failed');
        return process(a);
      };
      return lifecycle;
    };
    const metrics = createMetrics({ processMetrics: false });
    const out = await lastValueFrom(from(alerts).pipe(alertLifecycle(failing(), { tickMs: 0, onError: stageErrorHandler(metrics, createLogger('silent')) }), toArray()));
    expect(out.map((a) => a.rule)).toEqual(['rule 0', 'rule 2']);
    expect(await errorsByStage(metrics)).toMatchObject({ lifecycle: 1 });
    await expect(lastValueFrom(from(alerts).pipe(alertLifecycle(failing(), { tickMs: 0 }), toArray()))).rejects.toThrow('lifecycle failed');
  });
});
