/**
 * A small benchmark harness. Each case is measured against a baseline in the same run, in
 * alternating rounds, and reported as a ratio of medians, so the figure survives a noisy machine.
 */

export interface Case<T> {
  readonly name: string;
  /** Processes every item once; returns something so the work cannot be optimized away. */
  readonly run: (items: readonly T[]) => unknown;
}

export interface Comparison {
  readonly name: string;
  readonly baseline: string;
  readonly baselinePerSec: number;
  readonly candidatePerSec: number;
  /** candidate throughput / baseline throughput */
  readonly ratio: number;
}

let sink: unknown;

function timeOnce<T>(c: Case<T>, items: readonly T[]): number {
  const start = process.hrtime.bigint();
  sink = c.run(items);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function compare<T>(baseline: Case<T>, candidate: Case<T>, items: readonly T[], rounds = 9): Comparison {
  for (let i = 0; i < 3; i++) {
    timeOnce(baseline, items);
    timeOnce(candidate, items);
  }
  const b: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < rounds; i++) {
    b.push(items.length / timeOnce(baseline, items));
    c.push(items.length / timeOnce(candidate, items));
  }
  void sink;
  const baselinePerSec = median(b);
  const candidatePerSec = median(c);
  return { name: candidate.name, baseline: baseline.name, baselinePerSec, candidatePerSec, ratio: candidatePerSec / baselinePerSec };
}

export function report(results: readonly Comparison[]): string {
  const fmt = (n: number): string => `${Math.round(n).toLocaleString('en-US')}/s`;
  const rows = results.map(
    (r) => `  ${r.name.padEnd(44)} ${fmt(r.candidatePerSec).padStart(14)}   baseline ${r.baseline.padEnd(28)} ${fmt(r.baselinePerSec).padStart(14)}   ratio ${r.ratio.toFixed(2)}`,
  );
  return rows.join('\n');
}
