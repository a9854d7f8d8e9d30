import { PRIORITIES, type Priority } from './event.js';

const BY_NAME: ReadonlyMap<string, Priority> = new Map<string, Priority>([
  ...PRIORITIES.map((p) => [p.toLowerCase(), p] as const),
  // Falco accepts these spellings in rule files and emits "Informational" for both.
  ['info', 'Informational'],
  ['warn', 'Warning'],
  ['err', 'Error'],
  ['crit', 'Critical'],
  ['emerg', 'Emergency'],
]);

/** Falco's own spellings, which is what events carry: found without lower-casing a copy first. */
const AS_WRITTEN: ReadonlyMap<string, Priority> = new Map<string, Priority>(PRIORITIES.map((p) => [p, p] as const));

/** Falco priority from any spelling Falco itself accepts, case-insensitively; undefined if none. */
export function parsePriority(text: string): Priority | undefined {
  return AS_WRITTEN.get(text) ?? BY_NAME.get(text.toLowerCase());
}

/** Falco priority from the numeric value of the `falco.schema.priority` enum. */
export function priorityFromNumber(n: number): Priority | undefined {
  return PRIORITIES[n];
}
