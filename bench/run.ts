/**
 * `npm run bench`: Lanner's ingest paths against the bare decode of the same input, measured
 * in the same run and printed as ratios (1.00 would mean Lanner adds nothing).
 */
import { Subject } from 'rxjs';
import type { FalcoEvent } from '../src/core/event.js';
import { detectionPipeline } from '../src/detect/pipeline.js';
import { normalizeJsonLine } from '../src/ingest/json-lines.js';
import { benchLines } from './events.js';
import { compare, report, type Comparison } from './harness.js';
import { grpcComparisons } from './grpc.js';

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

function main(): void {
  const lines = benchLines(COUNT);
  const bytes = lines.reduce((n, l) => n + l.length, 0);
  process.stdout.write(`lanner bench: ${lines.length} events, ${Math.round(bytes / lines.length)} bytes each on average, node ${process.version}\n\n`);
  const results = [...jsonLinesComparisons(lines), ...grpcComparisons(lines)];
  process.stdout.write(report(results) + '\n');
}

main();
