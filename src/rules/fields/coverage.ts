/**
 * Which rules Lanner can evaluate from the fields an event carries, and for the others exactly
 * which fields are missing. A Falco rule whose condition reads a field the feed does not forward
 * would silently never match (or match wrongly under `not`); this report names every such rule.
 */
import { FEED_FIELDS, isEvaluable } from './feed-fields.js';

export interface RuleCoverage {
  readonly rule: string;
  readonly enabled: boolean;
  /** Fields the condition (with exceptions) reads that events do not carry, sorted. */
  readonly missing: readonly string[];
  /** Fields the output reads that events do not carry; they render as <NA>. */
  readonly missingInOutput: readonly string[];
}

export interface CoverageReport {
  readonly total: number;
  /** Rules whose every condition field is available. */
  readonly evaluable: number;
  readonly rules: readonly RuleCoverage[];
  /** How many rules miss each field, most missed first. */
  readonly missingFields: readonly { readonly field: string; readonly rules: number }[];
}

/** What coverage needs of a compiled rule. */
export interface CoverageInput {
  readonly name: string;
  readonly enabled: boolean;
  readonly fields: ReadonlySet<string>;
  readonly outputFields: readonly string[];
}

export function coverageOf(rules: readonly CoverageInput[], available: ReadonlySet<string> = FEED_FIELDS): CoverageReport {
  const counts = new Map<string, number>();
  const out: RuleCoverage[] = [];
  for (const r of rules) {
    const missing = [...r.fields].filter((f) => !isEvaluable(f, available)).sort();
    const missingInOutput = r.outputFields.filter((f) => !isEvaluable(f, available));
    for (const f of missing) counts.set(f, (counts.get(f) ?? 0) + 1);
    out.push({ rule: r.name, enabled: r.enabled, missing, missingInOutput });
  }
  return {
    total: out.length,
    evaluable: out.filter((r) => r.missing.length === 0).length,
    rules: out,
    missingFields: [...counts].map(([field, n]) => ({ field, rules: n })).sort((a, b) => b.rules - a.rules || a.field.localeCompare(b.field)),
  };
}
