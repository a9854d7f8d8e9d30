/**
 * Elastic Common Schema (ECS 8.x) alert documents, as Elastic Security, Elastic's Falco
 * integration and OpenSearch dashboards read them: `event.kind: alert`, categorization fields,
 * `rule.*`, `threat.*` (MITRE ATT&CK), `host.*`, `container.*`, `orchestrator.*`, `process.*`,
 * `user.*`. Facts the alert does not carry are left out, never written as null. Lanner's own
 * lifecycle facts, which ECS has no field for, live under `lanner.*`.
 */
import { stringifyExact } from '../../core/exact-json.js';
import { formatRfc3339Ns } from '../../core/time.js';
import { version } from '../../core/version.js';
import type { Alert } from '../alert.js';
import { jsonLine } from './text.js';
import { mitreFromTags, parentTechnique, tacticUrl, techniqueUrl } from '../mitre.js';
import { severityOf } from '../severity.js';
import { hostOf, inContainer, PRODUCT, splitImage } from './common.js';
import { falcoJsonOf } from './native.js';

export const ECS_VERSION = '8.11.0';

/** A stable, readable rule id: the rule name in snake case. */
export function ruleId(rule: string): string {
  return rule
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

/** ECS event.category from the tags Falco's rules use; intrusion_detection always. */
function categories(tags: readonly string[]): string[] {
  const out = ['intrusion_detection'];
  const has = (...names: string[]) => tags.some((t) => names.includes(t.toLowerCase()));
  if (has('process', 'shell', 'container_drift')) out.push('process');
  if (has('network')) out.push('network');
  if (has('filesystem', 'file')) out.push('file');
  return out;
}

/** Drops null, undefined, empty arrays and objects left empty, so absent facts stay absent. */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.filter((v) => v !== null && v !== undefined).map(compact) as T;
  if (typeof value !== 'object' || value === null || typeof value === 'bigint') return value;
  // Evidence carries Falco's output fields, whose names are event data: a field named
  // `__proto__` must stay a field, not become the copy's prototype.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    const c: unknown = compact(v);
    if (Array.isArray(c) && c.length === 0) continue;
    if (typeof c === 'object' && c !== null && !Array.isArray(c) && typeof c !== 'bigint' && Object.keys(c).length === 0) continue;
    out[k] = c;
  }
  return out as T;
}

export function ecsDocument(alert: Alert): Record<string, unknown> {
  const w = alert.workload;
  const p = alert.process;
  const mitre = alert.mitre ?? mitreFromTags(alert.tags);
  const techniques = mitre?.techniques.map((t) => t.id) ?? [];
  const parents = [...new Set(techniques.map(parentTechnique))];
  const subs = techniques.filter((id) => id.includes('.'));
  const image = splitImage(w.image);
  const last = alert.evidence[alert.evidence.length - 1];
  const act = alert.action;
  return compact({
    '@timestamp': formatRfc3339Ns(alert.timeNs),
    message: alert.output,
    tags: alert.tags,
    ecs: { version: ECS_VERSION },
    // An audit record of a response is an event about a change Lanner made (or would have), not an alert.
    event: {
      kind: act ? 'event' : 'alert',
      category: act ? ['configuration'] : categories(alert.tags),
      type: act ? [act.outcome === 'executed' ? 'change' : 'info'] : ['info'],
      action: act?.name,
      outcome: act ? (act.outcome === 'executed' ? 'success' : act.outcome === 'failed' ? 'failure' : 'unknown') : undefined,
      reason: act?.reason ?? undefined,
      severity: severityOf(alert.priority).ecs,
      id: alert.id,
      dataset: 'lanner.alert',
      module: 'lanner',
      provider: alert.origin,
      start: alert.first_seen === undefined ? undefined : formatRfc3339Ns(alert.first_seen),
      end: alert.last_seen === undefined ? undefined : formatRfc3339Ns(alert.last_seen),
      // The raw Falco event behind the alert; ECS maps event.original unindexed, so its
      // free-form field names cannot explode the index mapping.
      original: last ? stringifyExact(falcoJsonOf(last)) : undefined,
    },
    rule: {
      name: alert.rule,
      id: ruleId(alert.rule),
      ruleset: alert.origin === 'falco' ? 'falco' : 'lanner',
      reference: alert.runbook,
      category: mitre?.tactics.map((t) => t.name).join(', ') || undefined,
    },
    threat: mitre
      ? {
          framework: 'MITRE ATT&CK',
          technique: {
            id: parents,
            reference: parents.map(techniqueUrl),
            subtechnique: subs.length > 0 ? { id: subs, reference: subs.map(techniqueUrl) } : undefined,
          },
          tactic: {
            id: mitre.tactics.map((t) => t.id),
            name: mitre.tactics.map((t) => t.name),
            reference: mitre.tactics.map((t) => tacticUrl(t.id)),
          },
        }
      : undefined,
    host: { name: hostOf(alert), hostname: alert.hostname },
    observer: { vendor: PRODUCT.vendor, product: PRODUCT.name, version: version(), type: 'ids', hostname: alert.node },
    container: inContainer(alert)
      ? { id: w.container_id, name: w.container_name, image: image ? { name: image.name, tag: image.tag === null ? [] : [image.tag] } : undefined }
      : undefined,
    orchestrator:
      w.namespace !== null || w.pod !== null
        ? {
            type: 'kubernetes',
            cluster: alert.cluster ? { name: alert.cluster } : undefined,
            namespace: w.namespace,
            resource: w.pod !== null ? { type: 'pod', name: w.pod } : undefined,
          }
        : undefined,
    process: {
      pid: p.pid,
      name: p.name,
      command_line: p.cmdline,
      parent: p.parent !== null ? { name: p.parent } : undefined,
      user: p.user !== null || p.uid !== null ? { name: p.user, id: p.uid === null ? null : String(p.uid) } : undefined,
    },
    user: p.user !== null || p.uid !== null ? { name: p.user, id: p.uid === null ? null : String(p.uid) } : undefined,
    lanner: {
      origin: alert.origin,
      severity: alert.severity ?? severityOf(alert.priority).severity,
      priority: alert.priority,
      count: alert.count,
      dedup_key: alert.dedup_key,
      summary_of: alert.summary_of,
      cluster: alert.cluster,
      held_back: alert.held_back
        ? { ...alert.held_back, from: formatRfc3339Ns(alert.held_back.from), to: formatRfc3339Ns(alert.held_back.to) }
        : undefined,
      action: act,
    },
  });
}

/** One ECS document as a JSON line. */
export function formatEcs(alert: Alert): string {
  return jsonLine(ecsDocument(alert));
}
