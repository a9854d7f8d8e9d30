import type { FalcoEvent, FieldValue } from '../../src/core/event.js';
import { loadRuleSources, type LoadResult } from '../../src/rules/load/loader.js';
import type { CompiledRule } from '../../src/rules/load/ruleset.js';

/** A feed event with the given output_fields. */
export function event(fields: Record<string, FieldValue>, envelope: Partial<FalcoEvent> = {}): FalcoEvent {
  return {
    timeNs: 1_700_000_000_000_000_000n,
    rule: 'Lanner feed: test',
    priority: 'Debug',
    source: 'syscall',
    hostname: 'node-a',
    tags: ['lanner_feed'],
    fields,
    output: '',
    transport: 'file',
    feed: true,
    ...envelope,
  };
}

/** Loads one YAML text. */
export function load(text: string, file = 'rules.yaml'): LoadResult {
  return loadRuleSources([{ file, text }]);
}

/** The one rule a condition compiles to, failing loudly on any error. */
export function ruleFor(condition: string, extra = ''): CompiledRule {
  const text = `${extra}\n- rule: r\n  desc: d\n  condition: ${JSON.stringify(condition)}\n  output: o\n  priority: WARNING\n`;
  const result = load(text);
  const errors = result.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('\n'));
  return result.ruleSet.get('r')!;
}

/** Whether a condition matches an event with these fields. */
export function matches(condition: string, fields: Record<string, FieldValue>, extra = ''): boolean {
  return ruleFor(condition, extra).matches(event(fields));
}
