/**
 * `npm run bench`: Lanner's ingest paths against the bare decode of the same input, measured
 * in the same run and printed as ratios (1.00 would mean Lanner adds nothing).
 */
import { Subject } from 'rxjs';
import type { FalcoEvent } from '../src/core/event.js';
import { detectionPipeline } from '../src/detect/pipeline.js';
import { normalizeJsonLine } from '../src/ingest/json-lines.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDetectionRules } from '../src/rules/compiler/stateful.js';
import { ruleDetector } from '../src/detect/rule-detector.js';
import { DEFAULT_BOUNDS, RuleEngine } from '../src/detect/rule-engine.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { benchLines, mixedBenchLines } from './events.js';
import { compare, report, type Comparison } from './harness.js';
import { grpcComparisons } from './grpc.js';
import { shapeComparisons } from './shapes.js';

const COUNT = Number(process.env['LANNER_BENCH_EVENTS'] ?? 20_000);

function jsonLinesComparisons(lines: readonly string[]): Comparison[] {
  const bareParse = { name: 'JSON.parse', run: (items: readonly string[]) => items.map((l) => JSON.parse(l) as unknown).length };
  const normalize = {
    name: 'JSON lines: exact parse + normalize',
    run: (items: readonly string[]) => {
      let ok = 0;
      for (const line of items) if (normalizeJsonLine(line).ok) ok++;
      return ok;
    },
  };
  const throughPipeline = {
    name: 'JSON lines: normalize + detection pipeline',
    run: (items: readonly string[]) => {
      const events = new Subject<FalcoEvent>();
      let alerts = 0;
      const sub = detectionPipeline(events, { detectors: [] }).subscribe(() => alerts++);
      for (const line of items) {
        const r = normalizeJsonLine(line);
        if (r.ok) events.next(r.event);
      }
      sub.unsubscribe();
      return alerts;
    },
  };
  return [compare(bareParse, normalize, lines), compare(bareParse, throughPipeline, lines)];
}

/** Falco's published rule files when they sit beside the checkout, then the shipped rules. */
function benchRulePaths(): { paths: string[]; note: string } {
  const root = fileURLToPath(new URL('../..', import.meta.url).href.replace(/dist\/$/, ''));
  const repo = existsSync(join(root, 'rules')) ? root : resolve(root, '..');
  const falco = ['falco_rules.yaml', 'falco-incubating_rules.yaml', 'falco-sandbox_rules.yaml'].map((f) => resolve(repo, '../shared/falco-rules', f));
  const shipped = join(repo, 'rules');
  if (falco.every((f) => existsSync(f))) return { paths: [...falco, shipped], note: "Falco's three rule files + the shipped rules" };
  return { paths: [shipped], note: "the shipped rules (Falco's rule files not found beside the checkout)" };
}

function rulesComparison(lines: readonly string[], stream: string): Comparison {
  const { paths, note } = benchRulePaths();
  const loaded = loadDetectionRules(paths, DEFAULT_BOUNDS);
  const metrics = createMetrics({ processMetrics: false });
  const bareParse = { name: 'JSON.parse', run: (items: readonly string[]) => items.map((l) => JSON.parse(l) as unknown).length };
  const full = {
    name: `full pipeline, ${loaded.rules.length} rules, ${stream}`,
    run: (items: readonly string[]) => {
      const events = new Subject<FalcoEvent>();
      let alerts = 0;
      const holder = { current: new RuleEngine(loaded.rules, { metrics }) };
      const sub = detectionPipeline(events, { detectors: [ruleDetector(holder)] }).subscribe(() => alerts++);
      for (const line of items) {
        const r = normalizeJsonLine(line);
        if (r.ok) events.next(r.event);
      }
      events.complete();
      sub.unsubscribe();
      return alerts;
    },
  };
  process.stdout.write(`rules (${stream}): ${note}: ${loaded.rules.length} compiled, ${countAlerts(full, lines)} alerts from ${lines.length} events\n`);
  return compare(bareParse, full, lines);
}

function countAlerts(c: { run: (items: readonly string[]) => unknown }, lines: readonly string[]): number {
  return Number(c.run(lines));
}

function main(): void {
  const lines = benchLines(COUNT);
  const mixed = mixedBenchLines(COUNT);
  const bytes = lines.reduce((n, l) => n + l.length, 0);
  process.stdout.write(`lanner bench: ${lines.length} events, ${Math.round(bytes / lines.length)} bytes each on average, node ${process.version}\n\n`);
  const results = [...jsonLinesComparisons(lines), rulesComparison(mixed, 'mixed stream'), rulesComparison(lines, 'attack on repeat'), ...grpcComparisons(lines), ...shapeComparisons(mixed)];
  process.stdout.write(report(results) + '\n');
}

main();
