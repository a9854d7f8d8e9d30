/**
 * The alert model: what Lanner says happened, with the workload, process and evidence a SOC
 * analyst needs to act without opening the raw events.
 */
import * as crypto from 'node:crypto';
import type { FalcoEvent, Fields, FieldValue, Priority } from '../core/event.js';

export type AlertOrigin = 'falco' | 'lanner';

export interface Workload {
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly container_id: string | null;
  readonly container_name: string | null;
  readonly image: string | null;
}

export interface ProcessInfo {
  readonly pid: number | null;
  readonly name: string | null;
  readonly cmdline: string | null;
  readonly parent: string | null;
  readonly user: string | null;
  readonly uid: number | null;
}

export interface Alert {
  /**
   * Derived from what identifies the alert (derivedId), never random: the same alert made again
   * from the same events (a replay, a retried delivery) has the same id, so a SIEM keyed on it
   * (Elasticsearch `_id`) stores it once; different alerts have different ids.
   */
  readonly id: string;
  /** Event time of the (last) evidence event, in exact nanoseconds. */
  readonly timeNs: bigint;
  readonly rule: string;
  readonly priority: Priority;
  readonly source: string;
  readonly hostname: string;
  readonly output: string;
  readonly tags: readonly string[];
  readonly origin: AlertOrigin;
  readonly workload: Workload;
  readonly process: ProcessInfo;
  /** The events behind the alert, oldest first. */
  readonly evidence: readonly FalcoEvent[];
  /** How many occurrences this alert stands for (more than 1 once repeats are folded in). */
  readonly count: number;
  /** The Kubernetes node Lanner runs on (NODE_NAME), set when the alert leaves the pipeline. */
  readonly node?: string;
  /** The cluster name from config, set with `node`. */
  readonly cluster?: string;
  /** Monotonic clock (ms) when the triggering event entered Lanner, for latency metrics. */
  readonly ingestedAtMs?: number;
  /** Analyst-facing severity derived from the Falco priority (set by enrichment). */
  readonly severity?: Severity;
  /** MITRE ATT&CK techniques and tactics read from the tags (set by enrichment). */
  readonly mitre?: MitreInfo;
  /** Where the response procedure for this rule is written down. */
  readonly runbook?: string;
  /** Response actions the rule names (`actions:`), each a responder or a profile from config. */
  readonly actions?: readonly string[];
  /** The key repeats are folded under: rule, workload and any rule-declared key. */
  readonly dedup_key?: string;
  /** Event time (ns) of the first occurrence folded into this alert. */
  readonly first_seen?: bigint;
  /** Event time (ns) of the last occurrence folded into this alert. */
  readonly last_seen?: bigint;
  /** For a cooldown summary: the id of the alert that was sent when the incident began. */
  readonly summary_of?: string;
  /** On an `AlertLimitReached` alert: which limit bit, for which rule, and how many it held back. */
  readonly held_back?: HeldBack;
  /** On an audit record of a response action: the decision and why. */
  readonly action?: ActionRecord;
}

/** One response decision, as the audit trail carries it. */
export interface ActionRecord {
  /** The responder: quarantine, release, event, webhook, cordon, kill, delete. */
  readonly name: string;
  readonly outcome: 'executed' | 'dry_run' | 'refused' | 'failed';
  /** A stable code for a refusal or failure (namespace_protected, limit_node, forbidden, ...). */
  readonly reason: string | null;
  readonly trigger: 'alert' | 'manual' | 'ttl';
  readonly dry_run: boolean;
  readonly target: {
    readonly kind: 'pod' | 'node' | 'process' | 'external';
    readonly namespace: string | null;
    readonly pod: string | null;
    readonly node: string | null;
    readonly pid: number | null;
  };
  /** The alert that asked for it, for automatic actions. */
  readonly alert_id: string | null;
  readonly alert_rule: string | null;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface HeldBack {
  readonly rule: string;
  readonly count: number;
  readonly scope: 'global' | 'rule';
  /** The limit that bit: at most `limit` alerts per `window_ms`. */
  readonly limit: number;
  readonly window_ms: number;
  /** Event times (ns) of the first and last alert held back. */
  readonly from: bigint;
  readonly to: bigint;
}

/** Lanner's severity scale, the one SIEMs share (Elastic, OCSF, Splunk ES). */
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'informational';

export interface MitreTechnique {
  /** T1059 or a sub-technique such as T1059.004. */
  readonly id: string;
}

export interface MitreTactic {
  /** TA0002 */
  readonly id: string;
  /** ATT&CK's display name, e.g. "Privilege Escalation". */
  readonly name: string;
}

export interface MitreInfo {
  readonly techniques: readonly MitreTechnique[];
  readonly tactics: readonly MitreTactic[];
}

function text(v: FieldValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  return Array.isArray(v) ? v.join(',') : String(v);
}

function int(v: FieldValue | undefined): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return null;
}

function imageOf(fields: Fields): string | null {
  const repo = text(fields['container.image.repository']);
  const tag = text(fields['container.image.tag']);
  if (repo) return tag ? `${repo}:${tag}` : repo;
  return text(fields['container.image']);
}

export function workloadOf(fields: Fields): Workload {
  return {
    namespace: text(fields['k8s.ns.name']),
    pod: text(fields['k8s.pod.name']),
    container_id: text(fields['container.id']),
    container_name: text(fields['container.name']),
    image: imageOf(fields),
  };
}

export function processOf(fields: Fields): ProcessInfo {
  return {
    pid: int(fields['proc.pid']),
    name: text(fields['proc.name']),
    cmdline: text(fields['proc.cmdline']),
    parent: text(fields['proc.pname']),
    user: text(fields['user.name']),
    uid: int(fields['user.uid']),
  };
}

/** One part of what identifies an alert or a record. */
export type IdPart = string | number | bigint | null | undefined;

/** In Unicode mode a surrogate pair is one code point: only a lone surrogate is matched. */
const LONE_SURROGATE = /\p{Cs}/u;

/** SHA-256 of a text in hex, in one call where Node has it (20.12 and later): alert ids are made per alert. */
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : (text) => crypto.createHash('sha256').update(text).digest('hex');

/**
 * A UUID-shaped id derived from `kind` (a constant naming what is identified: 'alert',
 * 'incident', 'decision', ...) and `parts`: the same parts always give the same id, different
 * parts (in any position, whatever characters they hold) different ids. It is a
 * version 8 UUID (RFC 9562: a layout of our own, here the first 122 bits of a SHA-256), so
 * fields and tools that expect a UUID take it.
 */
export function derivedId(kind: string, parts: readonly IdPart[]): string {
  // Each part carries its length, so no content can pass for a boundary; null is apart from ''.
  let text = kind;
  for (const p of parts) {
    if (p === null || p === undefined) {
      text += '\u0000-';
      continue;
    }
    const s = typeof p === 'string' ? p : String(p);
    text += `\u0000${s.length}:${s}`;
  }
  // Hashed as UTF-8, where every lone surrogate would become U+FFFD: such text is hashed in its
  // JSON form instead, which keeps them apart (and cannot be mistaken for a kind).
  const hex = sha256Hex(LONE_SURROGATE.test(text) ? `\u0001${JSON.stringify(text)}` : text);
  // Version 8 in the 13th digit; the variant's two high bits, 10, in the 17th.
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** What makes one detected alert this alert and no other: the rule, where, what it says, and when its evidence happened. */
export type AlertIdentity = Pick<Alert, 'origin' | 'rule' | 'priority' | 'source' | 'hostname' | 'output' | 'workload' | 'process' | 'evidence'>;

/**
 * The id of a detected alert (Falco's own or a Lanner rule's), from its identity alone: the
 * rule and priority, the host and workload, the process, the rendered output and the time of
 * every evidence event. Nothing about when or how often Lanner saw it (ingest time, the run), so a
 * replay gives the live run's ids.
 */
export function detectionAlertId(a: AlertIdentity): string {
  const w = a.workload;
  const parts: IdPart[] = [a.origin, a.rule, a.priority, a.source, a.hostname, w.namespace, w.pod, w.container_id, a.process.pid, a.output];
  for (const e of a.evidence) parts.push(e.timeNs);
  return derivedId('alert', parts);
}

/** A Falco alert passing through Lanner: same rule, priority and text, with Lanner's context. */
export function alertFromFalcoEvent(event: FalcoEvent, ingestedAtMs?: number): Alert {
  const alert: { -readonly [K in keyof Alert]: Alert[K] } = {
    // Set below, from the alert's identity.
    id: '',
    timeNs: event.timeNs,
    rule: event.rule,
    priority: event.priority,
    source: event.source,
    hostname: event.hostname,
    output: event.output,
    tags: event.tags,
    origin: 'falco',
    workload: workloadOf(event.fields),
    process: processOf(event.fields),
    evidence: [event],
    count: 1,
  };
  if (ingestedAtMs !== undefined) alert.ingestedAtMs = ingestedAtMs;
  alert.id = detectionAlertId(alert);
  return alert;
}
