/** Join keys for stateful rules: the values of some fields of an event, as one string. */
import type { FalcoEvent, FieldValue } from '../../core/event.js';

export type KeyOf = (event: FalcoEvent) => string | undefined;

const SEPARATOR = '\u001f';

function text(v: FieldValue | undefined): string | undefined {
  if (v === null || v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : String(v);
}

/**
 * A key function over `fields`. An event missing any of them has no key and takes no part:
 * joining on an absent value would tie together unrelated events.
 */
export function keyOf(fields: readonly string[]): KeyOf {
  if (fields.length === 0) return () => '';
  if (fields.length === 1) {
    const only = fields[0]!;
    return (event) => text(event.fields[only]);
  }
  return (event) => {
    let key = '';
    for (let i = 0; i < fields.length; i++) {
      const part = text(event.fields[fields[i]!]);
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
