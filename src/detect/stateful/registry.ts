/**
 * Every stateful kind, in one explicit list. A new kind is its matcher file (class and
 * descriptor) plus one line here; its YAML key must also be one the rules layer collects and
 * compiles (STATEFUL_KEYS in src/rules/load/collector.ts, KIND_COMPILERS in
 * src/rules/compiler/stateful.ts).
 */
import type { StatefulKindName, StatefulSpec } from '../../rules/compiler/detection-rule.js';
import { baselineKind } from './baseline.js';
import type { StatefulKindDescriptor } from './matcher.js';
import { sequenceKind } from './sequence.js';
import { thresholdKind } from './threshold.js';

export const STATEFUL_KINDS: readonly StatefulKindDescriptor[] = [sequenceKind, thresholdKind, baselineKind];

/** The kind a rule names by its YAML key; for a compiled spec's kind, typed to take that spec. */
export function findStatefulKind<N extends StatefulKindName>(name: N): StatefulKindDescriptor<Extract<StatefulSpec, { kind: N }>> | undefined;
export function findStatefulKind(name: string): StatefulKindDescriptor | undefined;
export function findStatefulKind(name: string): StatefulKindDescriptor | undefined {
  return STATEFUL_KINDS.find((k) => k.name === name);
}
