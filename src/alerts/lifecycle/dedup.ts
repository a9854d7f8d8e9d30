/**
 * Deduplication: one alert per incident. The first occurrence of a key is sent at once; repeats
 * within the cooldown (measured in event time, so a replay folds exactly as live did) are only
 * counted; when the cooldown ends with repeats folded, one summary alert carries the total.
 * State is bounded: past `maxKeys` the oldest incident is closed early (its summary still sent).
 */
import { createHash } from 'node:crypto';
import type { Fields, FieldValue } from '../../core/event.js';
import { formatRfc3339Ns } from '../../core/time.js';
import { derivedId, type Alert } from '../alert.js';

export interface DedupOptions {
  readonly cooldownMs: number;
  readonly maxKeys: number;
  /** Extra `output_fields` per rule that split incidents (e.g. `fd.name` for a /tmp race). */
  readonly keyFields?: ReadonlyMap<string, readonly string[]>;
  /** A key the rule itself declares, from the rule engine; undefined when it declares none. */
  readonly ruleKey?: (alert: Alert) => string | undefined;
  /** Evidence events a summary keeps (the first ones and the latest). */
  readonly maxEvidence?: number;
}

interface Incident {
  readonly first: Alert;
  readonly expiresNs: bigint;
  count: number;
  last: Alert;
}

const SEP = '\u001f';

function keyText(v: FieldValue | undefined): string {
  if (v === undefined || v === null) return '';
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** A field the event itself carries: never one of Object.prototype's members, whatever the configured name. */
function ownField(fields: Fields | undefined, name: string): FieldValue | undefined {
  return fields !== undefined && Object.hasOwn(fields, name) ? fields[name] : undefined;
}

export class Deduplicator {
  private readonly incidents = new Map<string, Incident>();
  private readonly cooldownNs: bigint;
  private readonly maxEvidence: number;
  /** Incidents closed early because the key limit was reached. */
  evicted = 0;

  constructor(private readonly options: DedupOptions) {
    this.cooldownNs = BigInt(Math.round(options.cooldownMs * 1e6));
    this.maxEvidence = options.maxEvidence ?? 10;
  }

  get size(): number {
    return this.incidents.size;
  }

  /** The stable key of an alert: rule, host, workload, and any rule-declared key. */
  keyOf(alert: Alert): string {
    const w = alert.workload;
    const parts = [alert.rule, alert.hostname, w.namespace ?? '', w.pod ?? '', w.container_id ?? w.container_name ?? '', w.image ?? ''];
    const fields = this.options.keyFields?.get(alert.rule);
    if (fields) {
      const evidence = alert.evidence[alert.evidence.length - 1];
      for (const f of fields) parts.push(keyText(ownField(evidence?.fields, f)));
    }
    const declared = this.options.ruleKey?.(alert);
    if (declared !== undefined) parts.push(declared);
    // Hashed: stable across restarts and nodes, short enough for a Kafka key or a SIEM group-by.
    return createHash('sha256').update(parts.join(SEP)).digest('hex').slice(0, 20);
  }

  /**
   * Folds `alert` into the open incident under `key`, if one is open at the alert's time.
   * An incident under `key` that has ended is closed (its summary pushed to `out`).
   */
  fold(key: string, alert: Alert, out: Alert[]): boolean {
    const open = this.incidents.get(key);
    if (!open) return false;
    if (alert.timeNs < open.expiresNs) {
      open.count++;
      open.last = alert;
      return true;
    }
    this.close(key, open, out);
    return false;
  }

  /**
   * Opens an incident under `key` with `alert` as its first occurrence; returns the alert to
   * send. Its id is derived from the incident's identity: the key, the first event time, and the
   * detected alert's own id, so alerts told apart only by a key field keep distinct ids.
   */
  open(key: string, alert: Alert, out: Alert[]): Alert {
    if (this.incidents.size >= this.options.maxKeys) {
      const [oldestKey, oldest] = this.incidents.entries().next().value as [string, Incident];
      this.close(oldestKey, oldest, out);
      this.evicted++;
    }
    const t = alert.timeNs;
    const first: Alert = { ...alert, id: derivedId('incident', [key, t, alert.id]), dedup_key: key, first_seen: t, last_seen: t, count: 1 };
    this.incidents.set(key, { first, expiresNs: t + this.cooldownNs, count: 1, last: first });
    return first;
  }

  /** Closes every incident whose cooldown ended at or before `nowNs`. */
  expire(nowNs: bigint, out: Alert[]): void {
    // Insertion order is creation order, so expired incidents sit at the front; an incident
    // created out of event-time order waits for the next sweep, or is closed when its key recurs.
    for (const [key, incident] of this.incidents) {
      if (incident.expiresNs > nowNs) break;
      this.close(key, incident, out);
    }
  }

  /** Closes every open incident (shutdown, end of a replay). */
  flush(out: Alert[]): void {
    for (const [key, incident] of this.incidents) this.close(key, incident, out);
  }

  private close(key: string, incident: Incident, out: Alert[]): void {
    this.incidents.delete(key);
    if (incident.count > 1) out.push(this.summaryOf(incident));
  }

  private summaryOf(incident: Incident): Alert {
    const { first, last, count } = incident;
    // The summary is not the event that entered Lanner: no ingest time, so latency metrics skip it.
    const { ingestedAtMs: _ingested, ...base } = first;
    const firstSeen = first.timeNs;
    const lastSeen = last.timeNs;
    const keep = Math.max(1, this.maxEvidence - last.evidence.length);
    const evidence = [...first.evidence.slice(0, keep), ...last.evidence].slice(0, this.maxEvidence);
    return {
      ...base,
      // One summary per incident, when it closes: the incident's id and what it counted say which.
      id: derivedId('summary', [first.id, count, lastSeen]),
      timeNs: lastSeen,
      process: last.process,
      output: `${first.output} [${count} occurrences from ${formatRfc3339Ns(firstSeen)} to ${formatRfc3339Ns(lastSeen)}; ${count - 1} folded into alert ${first.id}]`,
      evidence,
      count,
      first_seen: firstSeen,
      last_seen: lastSeen,
      summary_of: first.id,
    };
  }
}
