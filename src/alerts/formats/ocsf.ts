/**
 * OCSF 1.4 Detection Finding (class_uid 2004, category_uid 2 Findings). A new incident is
 * activity 1 Create (type_uid 200401); a cooldown summary updates the finding its first alert
 * created, so it is activity 2 Update (type_uid 200402) with the same finding_info.uid.
 * Times are epoch milliseconds, as OCSF's timestamp_t requires.
 */
import type { FalcoEvent } from '../../core/event.js';
import { version } from '../../core/version.js';
import type { Alert, MitreInfo } from '../alert.js';
import { mitreFromTags, parentTechnique } from '../mitre.js';
import { severityOf } from '../severity.js';
import { epochMs, hostOf, inContainer, PRODUCT, splitImage } from './common.js';
import { compact, ruleId } from './ecs.js';
import { falcoJsonOf } from './native.js';
import { jsonLine } from './text.js';
import { processOf, workloadOf } from '../alert.js';

export const OCSF_VERSION = '1.4.0';
const ATTACK_VERSION = 'v15';

/** One OCSF attack per technique, each paired with the rule's tactic when it names just one. */
export function ocsfAttacks(mitre: MitreInfo | undefined): Record<string, unknown>[] {
  if (!mitre) return [];
  const tactic = (t: { id: string; name: string }) => ({ uid: t.id, name: t.name });
  const only = mitre.tactics.length === 1 ? mitre.tactics[0] : undefined;
  const attacks: Record<string, unknown>[] = mitre.techniques.map((t) => ({
    technique: { uid: parentTechnique(t.id) },
    ...(t.id.includes('.') ? { sub_technique: { uid: t.id } } : {}),
    ...(only ? { tactic: tactic(only) } : {}),
    version: ATTACK_VERSION,
  }));
  // Several tactics cannot be paired with techniques reliably: each stands on its own.
  if (only && attacks.length > 0) return attacks;
  for (const t of mitre.tactics) attacks.push({ tactic: tactic(t), version: ATTACK_VERSION });
  return attacks;
}

function evidenceOf(event: FalcoEvent): Record<string, unknown> {
  const w = workloadOf(event.fields);
  const p = processOf(event.fields);
  const image = splitImage(w.image);
  const user = p.user !== null || p.uid !== null ? { name: p.user, uid: p.uid === null ? null : String(p.uid) } : null;
  return {
    process: { pid: p.pid, name: p.name, cmd_line: p.cmdline, parent_process: p.parent !== null ? { name: p.parent } : null, user },
    actor: user ? { user } : null,
    container:
      w.container_id !== null && w.container_id !== 'host'
        ? { uid: w.container_id, name: w.container_name, image: image ? { name: image.name, tag: image.tag } : null }
        : null,
    data: falcoJsonOf(event),
  };
}

export function ocsfFinding(alert: Alert): Record<string, unknown> {
  const sev = severityOf(alert.priority);
  const w = alert.workload;
  const activityId = alert.summary_of === undefined ? 1 : 2;
  const mitre = alert.mitre ?? mitreFromTags(alert.tags);
  const image = splitImage(w.image);
  const resources: Record<string, unknown>[] = [];
  if (w.pod !== null) resources.push({ type: 'Kubernetes Pod', name: w.pod, namespace: w.namespace, labels: alert.cluster ? [`cluster:${alert.cluster}`] : null });
  if (inContainer(alert)) resources.push({ type: 'Container', uid: w.container_id, name: w.container_name, namespace: w.namespace, data: image ? { image: w.image } : null });
  resources.push({ type: 'Host', name: hostOf(alert) });
  return compact({
    activity_id: activityId,
    activity_name: activityId === 1 ? 'Create' : 'Update',
    category_uid: 2,
    category_name: 'Findings',
    class_uid: 2004,
    class_name: 'Detection Finding',
    type_uid: 2004 * 100 + activityId,
    type_name: `Detection Finding: ${activityId === 1 ? 'Create' : 'Update'}`,
    severity_id: sev.ocsfId,
    severity: sev.ocsfName,
    status_id: 1,
    status: 'New',
    is_alert: true,
    time: epochMs(alert.timeNs),
    start_time: alert.first_seen === undefined ? null : epochMs(alert.first_seen),
    end_time: alert.last_seen === undefined ? null : epochMs(alert.last_seen),
    count: alert.count,
    message: alert.output,
    metadata: {
      version: OCSF_VERSION,
      product: { name: PRODUCT.name, vendor_name: PRODUCT.vendor, version: version() },
      uid: alert.id,
      correlation_uid: alert.dedup_key,
      labels: alert.tags,
    },
    finding_info: {
      // A summary updates the finding its first alert created: same uid.
      uid: alert.summary_of ?? alert.id,
      title: alert.rule,
      desc: alert.output,
      types: [alert.origin === 'falco' ? 'Falco Alert' : 'Lanner Detection'],
      attacks: ocsfAttacks(mitre),
      analytic: { name: alert.rule, uid: ruleId(alert.rule), type_id: 1, type: 'Rule' },
      first_seen_time: alert.first_seen === undefined ? null : epochMs(alert.first_seen),
      last_seen_time: alert.last_seen === undefined ? null : epochMs(alert.last_seen),
      src_url: alert.runbook,
    },
    remediation: alert.runbook ? { desc: `Runbook for ${alert.rule}`, references: [alert.runbook] } : null,
    evidences: alert.evidence.map(evidenceOf),
    resources,
    device: { hostname: alert.hostname, name: hostOf(alert), type_id: 0, type: 'Unknown' },
    unmapped: {
      lanner: {
        origin: alert.origin,
        priority: alert.priority,
        cluster: alert.cluster,
        summary_of: alert.summary_of,
        held_back: alert.held_back ? { ...alert.held_back, from: epochMs(alert.held_back.from), to: epochMs(alert.held_back.to) } : null,
      },
    },
  });
}

export function formatOcsf(alert: Alert): string {
  return jsonLine(ocsfFinding(alert));
}
