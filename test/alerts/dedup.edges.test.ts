/**
 * Deduplication at its edges: a repeat one nanosecond before the cooldown's end is folded, one
 * exactly at its end opens a new incident; the key limit at its value; what a summary carries,
 * evidence trimmed at its bound; and what the key is made of. Time is each alert's event time.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derivedId, type Alert } from '../../src/alerts/alert.js';
import { Deduplicator, type DedupOptions } from '../../src/alerts/lifecycle/dedup.js';
import type { FalcoEvent } from '../../src/core/event.js';
import { formatRfc3339Ns } from '../../src/core/time.js';
import { SECOND, shellAlert, T0, type ShellInit } from '../support/alerts.js';

const COOLDOWN = 60n * SECOND;

function dedup(options: Partial<DedupOptions> = {}): Deduplicator {
  return new Deduplicator({ cooldownMs: 60_000, maxKeys: 100, ...options });
}

/** An alert whose id is its own (the detected alert's), at `timeNs`. */
function alertAt(timeNs: bigint, init: ShellInit = {}, id = `detected-${timeNs}`): Alert {
  return { ...shellAlert({ ...init, timeNs }), id };
}

/** What the lifecycle does with one alert: fold it, or open an incident and send it. */
function feed(d: Deduplicator, alert: Alert, out: Alert[]): Alert | undefined {
  const key = d.keyOf(alert);
  if (d.fold(key, alert, out)) return undefined;
  return d.open(key, alert, out);
}

function evidenceAt(timeNs: bigint, name: string): FalcoEvent {
  const e = shellAlert({ timeNs }).evidence[0]!;
  return { ...e, fields: { ...e.fields, 'fd.name': name } };
}

describe('dedup: the cooldown at its end', () => {
  it('folds a repeat one nanosecond before the cooldown ends, and opens a new incident exactly at its end', () => {
    const d = dedup({ cooldownMs: 60_000 });
    const out: Alert[] = [];
    const first = feed(d, alertAt(T0), out)!;
    expect(feed(d, alertAt(T0 + COOLDOWN - 1n), out)).toBeUndefined();
    expect(out).toEqual([]);
    const next = feed(d, alertAt(T0 + COOLDOWN), out);
    // The ended incident's summary goes first, then the repeat is an alert of its own.
    expect(out.map((a) => [a.summary_of, a.count, a.timeNs])).toEqual([[first.id, 2, T0 + COOLDOWN - 1n]]);
    expect(next).toMatchObject({ count: 1, first_seen: T0 + COOLDOWN, dedup_key: first.dedup_key });
    expect(d.size).toBe(1);
  });

  it('measures the cooldown in milliseconds of event time: 5 min is 300 s, not 300 ms', () => {
    const d = dedup({ cooldownMs: 300_000 });
    const out: Alert[] = [];
    feed(d, alertAt(T0), out);
    expect(feed(d, alertAt(T0 + 299n * SECOND), out)).toBeUndefined();
    expect(feed(d, alertAt(T0 + 300n * SECOND), out)).toBeDefined();
  });

  it('closes an incident on a sweep exactly at its end, not a nanosecond before', () => {
    const d = dedup();
    const out: Alert[] = [];
    feed(d, alertAt(T0), out);
    feed(d, alertAt(T0 + SECOND), out);
    d.expire(T0 + COOLDOWN - 1n, out);
    expect(out).toEqual([]);
    expect(d.size).toBe(1);
    d.expire(T0 + COOLDOWN, out);
    expect(out.map((a) => a.count)).toEqual([2]);
    expect(d.size).toBe(0);
  });

  it('sweeps incidents in creation order and stops at the first still open', () => {
    const d = dedup();
    const out: Alert[] = [];
    feed(d, alertAt(T0, { container: 'c1' }), out);
    feed(d, alertAt(T0 + 30n * SECOND, { container: 'c2' }), out);
    // Created after c2 but earlier in event time: it waits behind c2.
    feed(d, alertAt(T0 - 30n * SECOND, { container: 'c3' }), out);
    d.expire(T0 + COOLDOWN, out);
    expect(d.size).toBe(2);
    d.expire(T0 + 90n * SECOND, out);
    expect(d.size).toBe(0);
  });

  it('sends no summary for an incident that had no repeats, and one for a single repeat', () => {
    const d = dedup();
    const out: Alert[] = [];
    feed(d, alertAt(T0, { container: 'lonely' }), out);
    feed(d, alertAt(T0, { container: 'twice' }), out);
    feed(d, alertAt(T0 + 1n, { container: 'twice' }), out);
    d.flush(out);
    expect(out.map((a) => [a.workload.container_id, a.count])).toEqual([['twice', 2]]);
    expect(d.size).toBe(0);
  });

  it('does not fold under a key with no open incident', () => {
    const d = dedup();
    const out: Alert[] = [];
    expect(d.fold(d.keyOf(alertAt(T0)), alertAt(T0), out)).toBe(false);
    expect(out).toEqual([]);
  });
});

describe('dedup: the key limit', () => {
  it('keeps exactly max_keys incidents open; the next closes the oldest early, summary included', () => {
    const d = dedup({ maxKeys: 2 });
    const out: Alert[] = [];
    feed(d, alertAt(T0, { container: 'c1' }), out);
    feed(d, alertAt(T0 + 1n, { container: 'c1' }), out);
    feed(d, alertAt(T0 + 2n, { container: 'c2' }), out);
    expect(out).toEqual([]);
    expect([d.size, d.evicted]).toEqual([2, 0]);
    feed(d, alertAt(T0 + 3n, { container: 'c3' }), out);
    expect(out.map((a) => [a.workload.container_id, a.count])).toEqual([['c1', 2]]);
    expect([d.size, d.evicted]).toEqual([2, 1]);
    // c1 is no longer open: its next repeat is a new alert.
    expect(feed(d, alertAt(T0 + 4n, { container: 'c1' }), out)).toBeDefined();
    expect(d.evicted).toBe(2);
  });
});

describe('dedup: what is sent', () => {
  it("opens an incident with an id derived from the key, the first time and the detected alert's id", () => {
    const d = dedup();
    const alert = alertAt(T0, {}, 'detected-1');
    const key = d.keyOf(alert);
    const first = d.open(key, alert, []);
    expect(first).toEqual({ ...alert, id: derivedId('incident', [key, T0, 'detected-1']), dedup_key: key, first_seen: T0, last_seen: T0, count: 1 });
  });

  it('sums up an incident: last time and process, exact counts and output, no ingest time', () => {
    const d = dedup();
    const out: Alert[] = [];
    const a = alertAt(T0);
    const first = feed(d, { ...a, ingestedAtMs: 12.5 }, out)!;
    feed(d, alertAt(T0 + 10n * SECOND), out);
    const last = alertAt(T0 + 20n * SECOND);
    feed(d, { ...last, process: { ...last.process, pid: 9999, name: 'nc' } }, out);
    d.flush(out);
    expect(out).toHaveLength(1);
    const summary = out[0]!;
    expect('ingestedAtMs' in summary).toBe(false);
    expect(summary).toMatchObject({
      id: derivedId('summary', [first.id, 3, T0 + 20n * SECOND]),
      timeNs: T0 + 20n * SECOND,
      count: 3,
      first_seen: T0,
      last_seen: T0 + 20n * SECOND,
      summary_of: first.id,
      dedup_key: first.dedup_key,
      rule: first.rule,
    });
    expect(summary.process).toMatchObject({ pid: 9999, name: 'nc' });
    expect(summary.output).toBe(`${a.output} [3 occurrences from ${formatRfc3339Ns(T0)} to ${formatRfc3339Ns(T0 + 20n * SECOND)}; 2 folded into alert ${first.id}]`);
  });

  it('keeps the first evidence and the latest, at most max_evidence', () => {
    const firstEvidence = [0, 1, 2].map((i) => evidenceAt(T0 + BigInt(i), `f${i}`));
    const lastEvidence = [0, 1].map((i) => evidenceAt(T0 + SECOND + BigInt(i), `l${i}`));
    const names = (maxEvidence: number | undefined): unknown[] => {
      const d = dedup(maxEvidence === undefined ? {} : { maxEvidence });
      const out: Alert[] = [];
      feed(d, { ...alertAt(T0), evidence: firstEvidence }, out);
      feed(d, { ...alertAt(T0 + SECOND), evidence: lastEvidence }, out);
      d.flush(out);
      return out[0]!.evidence.map((e) => e.fields['fd.name']);
    };
    expect(names(5)).toEqual(['f0', 'f1', 'f2', 'l0', 'l1']);
    expect(names(4)).toEqual(['f0', 'f1', 'l0', 'l1']);
    // Always one of the first, even when the latest alone would fill the bound.
    expect(names(2)).toEqual(['f0', 'l0']);
    expect(names(1)).toEqual(['f0']);
    expect(names(undefined)).toEqual(['f0', 'f1', 'f2', 'l0', 'l1']);
  });

  it('keeps ten evidence events by default', () => {
    const d = dedup();
    const out: Alert[] = [];
    const many = Array.from({ length: 12 }, (_, i) => evidenceAt(T0 + BigInt(i), `f${i}`));
    feed(d, { ...alertAt(T0), evidence: many }, out);
    feed(d, alertAt(T0 + SECOND), out);
    d.flush(out);
    expect(out[0]!.evidence).toHaveLength(10);
    expect(out[0]!.evidence.map((e) => e.fields['fd.name'])).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', undefined]);
  });
});

describe('dedup: the key', () => {
  const SEP = '\u001f';
  const expectedKey = (parts: readonly string[]): string => createHash('sha256').update(parts.join(SEP)).digest('hex').slice(0, 20);

  it('is the first 20 hex digits of a hash of rule, host, namespace, pod, container and image', () => {
    const a = alertAt(T0);
    const w = a.workload;
    expect(dedup().keyOf(a)).toBe(expectedKey([a.rule, a.hostname, w.namespace!, w.pod!, w.container_id!, w.image!]));
    const bare: Alert = { ...a, workload: { namespace: null, pod: null, container_id: null, container_name: null, image: null } };
    expect(dedup().keyOf(bare)).toBe(expectedKey([a.rule, a.hostname, '', '', '', '']));
    const named: Alert = { ...bare, workload: { ...bare.workload, container_name: 'checkout' } };
    expect(dedup().keyOf(named)).toBe(expectedKey([a.rule, a.hostname, '', '', 'checkout', '']));
  });

  it('keeps parts apart: moving a character from one part to the next makes another key', () => {
    const a = alertAt(T0);
    const one: Alert = { ...a, workload: { ...a.workload, namespace: 'ab', pod: 'c' } };
    const two: Alert = { ...a, workload: { ...a.workload, namespace: 'a', pod: 'bc' } };
    expect(dedup().keyOf(one)).not.toBe(dedup().keyOf(two));
  });

  it("adds the rule's key fields from the latest evidence, as text, empty when absent", () => {
    const d = dedup({ keyFields: new Map([['Terminal shell in container', ['fd.name', 'proc.args']]]) });
    const base = alertAt(T0);
    const withFields = (fields: Record<string, unknown> | undefined): Alert => ({
      ...base,
      evidence: fields === undefined ? [] : [evidenceAt(T0, 'ignored'), { ...base.evidence[0]!, fields: fields as FalcoEvent['fields'] }],
    });
    const w = base.workload;
    const head = [base.rule, base.hostname, w.namespace!, w.pod!, w.container_id!, w.image!];
    expect(d.keyOf(withFields({ 'fd.name': '/tmp/a', 'proc.args': ['-c', 'id'] }))).toBe(expectedKey([...head, '/tmp/a', '-c,id']));
    expect(d.keyOf(withFields({ 'fd.name': 5, 'proc.args': null }))).toBe(expectedKey([...head, '5', '']));
    expect(d.keyOf(withFields({}))).toBe(expectedKey([...head, '', '']));
    expect(d.keyOf(withFields(undefined))).toBe(expectedKey([...head, '', '']));
    // Another rule has no key fields.
    expect(d.keyOf({ ...withFields({ 'fd.name': '/tmp/a' }), rule: 'Other' })).toBe(expectedKey(['Other', ...head.slice(1)]));
  });

  it("never reads a key field from Object.prototype, whatever the configured name", () => {
    const d = dedup({ keyFields: new Map([['Terminal shell in container', ['constructor', 'toString']]]) });
    const base = alertAt(T0);
    const w = base.workload;
    expect(d.keyOf({ ...base, evidence: [{ ...base.evidence[0]!, fields: {} }] })).toBe(
      expectedKey([base.rule, base.hostname, w.namespace!, w.pod!, w.container_id!, w.image!, '', '']),
    );
  });

  it('adds the key the rule declares, and nothing when it declares none', () => {
    const base = alertAt(T0);
    const w = base.workload;
    const head = [base.rule, base.hostname, w.namespace!, w.pod!, w.container_id!, w.image!];
    expect(dedup({ ruleKey: () => 'user=root' }).keyOf(base)).toBe(expectedKey([...head, 'user=root']));
    expect(dedup({ ruleKey: () => undefined }).keyOf(base)).toBe(expectedKey(head));
  });
});
