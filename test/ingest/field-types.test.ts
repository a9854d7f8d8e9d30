/**
 * Two tables type Falco's fields: the normalizer's (how values are rendered, so gRPC text and
 * JSON numbers become one value) and the rule catalog's (how Falco compares them). Where both
 * name a field they must agree, or a field would be converted to a number and then compared as
 * text, or the other way round.
 */
import { describe, expect, it } from 'vitest';
import { FIELD_KINDS, fieldKind } from '../../src/ingest/field-types.js';
import { checkFieldName, fieldType } from '../../src/rules/fields/field-catalog.js';

/**
 * Falco renders these as numbers in JSON (nanoseconds) but declares them as time text; rules
 * compare them by what the value looks like.
 */
const RENDERED_AS_NUMBERS = new Set(['evt.time', 'evt.time.s', 'evt.time.iso8601']);

describe('field types', () => {
  it('the normalizer and the rule catalog agree on every field both know', () => {
    const disagreements: string[] = [];
    for (const [name, kind] of FIELD_KINDS) {
      if (RENDERED_AS_NUMBERS.has(name)) continue;
      // Falco's drop alerts carry counters that are not filter fields.
      if (checkFieldName(name) === 'unknown-class' && name.startsWith('n_')) continue;
      const expected = kind === 'int' ? 'number' : 'bool';
      if (fieldType(name) !== expected) disagreements.push(`${name}: rendered as ${kind}, compared as ${fieldType(name) ?? 'untyped'}`);
    }
    expect(disagreements).toEqual([]);
  });

  it('text fields are never converted to numbers', () => {
    for (const name of ['fd.uid', 'proc.name', 'container.image.tag', 'fd.name', 'user.name', 'k8s.pod.name']) {
      expect(fieldType(name), name).toBe('string');
      expect(fieldKind(name), name).toBeUndefined();
    }
  });

  it('types indexed ancestor pids as integers', () => {
    expect(fieldKind('proc.apid[2]')).toBe('int');
    expect(fieldKind('proc.aname[2]')).toBeUndefined();
  });
});
