/** Join keys for stateful rules: the values of some fields of an event, as one string. */
import type { FalcoEvent, FieldValue } from '../../core/event.js';

export type KeyOf = (event: FalcoEvent) => string | undefined;

const SEPARATOR = '\u001f';

function text(v: FieldValue | undefined): string | undefined {
  if (v === null || v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : String(v);
}

type PartOf = (event: FalcoEvent) => string | undefined;

/**
 * One key part: a field, or alternatives `a|b` of which the first present is used (a syscall
 * family names one path differently: chown's `evt.arg.path` is fchownat's `evt.arg.pathname`).
 */
function partOf(spec: string): PartOf {
  const names = spec.split('|').map((n) => n.trim());
  if (names.length === 1) {
    const only = names[0]!;
    return (event) => text(event.fields[only]);
  }
  return (event) => {
    for (const name of names) {
      const v = text(event.fields[name]);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

/**
 * A key function over `fields`. An event missing any of them has no key and takes no part:
 * joining on an absent value would tie together unrelated events.
 */
export function keyOf(fields: readonly string[]): KeyOf {
  if (fields.length === 0) return () => '';
  const parts = fields.map(partOf);
  if (parts.length === 1) return parts[0]!;
  return (event) => {
    let key = '';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!(event);
      if (part === undefined) return undefined;
      key += i === 0 ? part : SEPARATOR + part;
    }
    return key;
  };
}

/** Event time in milliseconds (fractional), precise to well under a microsecond for windows. */
export function eventTimeMs(event: FalcoEvent): number {
  return Number(event.timeNs) / 1e6;
}
