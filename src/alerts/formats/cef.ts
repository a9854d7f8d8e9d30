/**
 * ArcSight Common Event Format (CEF:0), as ArcSight, QRadar, Sentinel and Splunk's CEF add-ons
 * parse it: `CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension`.
 * Escaping follows the CEF specification exactly: in the header `\` → `\\` and `|` → `\|`; in
 * extension values `\` → `\\`, `=` → `\=`, and line breaks → `\n` / `\r` (a `|` needs none
 * there). Other control characters have no CEF escape and become U+FFFD (text.ts), so a record
 * is always one line. Extension keys are the spec's own (rt, dvchost, dhost, duser, ...), with
 * customer strings (cs1..cs6) labelled for the Kubernetes facts CEF has no key for.
 */
import { version } from '../../core/version.js';
import type { Alert } from '../alert.js';
import { mitreFromTags } from '../mitre.js';
import { severityOf } from '../severity.js';
import { epochMs, hostOf, PRODUCT } from './common.js';
import { ruleId } from './ecs.js';
import { oneLine } from './text.js';

/**
 * Escapes one header field: `\` and `|`. A header cannot hold a line break, so each becomes a
 * space; other control characters, which CEF has no escape for, become U+FFFD.
 */
export function cefHeader(value: string): string {
  return oneLine(value).replace(/[\\|]/g, (c) => `\\${c}`);
}

/**
 * Escapes one extension value: `\` and `=`, a carriage return as `\r` and any other line break
 * (LF, CR LF, VT, FF, NEL, U+2028, U+2029) as `\n`, the two line escapes the specification
 * defines; other control characters, which it has no escape for, become U+FFFD.
 */
export function cefValue(value: string): string {
  return oneLine(value.replace(/[\\=]/g, (c) => `\\${c}`), (lineBreak) => (lineBreak === '\r' ? '\\r' : '\\n'));
}

const CUSTOM_LABELS: Readonly<Record<string, string>> = {
  cs1: 'namespace',
  cs2: 'pod',
  cs3: 'containerImage',
  cs4: 'containerId',
  cs5: 'commandLine',
  cs6: 'runbook',
  flexString1: 'mitreTechniques',
  flexString2: 'dedupKey',
};

export function formatCef(alert: Alert): string {
  const w = alert.workload;
  const p = alert.process;
  const mitre = alert.mitre ?? mitreFromTags(alert.tags);
  // CEF has no keys for Kubernetes facts, the command line or ATT&CK ids: they ride in the
  // labelled custom strings, whose labels say what each holds.
  const ext: [string, string | number | null | undefined][] = [
    ['rt', epochMs(alert.timeNs)],
    ['externalId', alert.id],
    ['msg', alert.output],
    ['dvchost', hostOf(alert)],
    ['dhost', alert.hostname],
    ['duser', p.user],
    ['duid', p.uid],
    ['dpid', p.pid],
    ['dproc', p.name],
    ['sproc', p.parent],
    ['cnt', alert.count],
    ['start', alert.first_seen === undefined ? undefined : epochMs(alert.first_seen)],
    ['end', alert.last_seen === undefined ? undefined : epochMs(alert.last_seen)],
    ['cat', mitre?.tactics.map((t) => t.name).join(',')],
    ['cs1', w.namespace],
    ['cs2', w.pod],
    ['cs3', w.image],
    ['cs4', w.container_id],
    ['cs5', p.cmdline],
    ['cs6', alert.runbook],
    ['flexString1', mitre?.techniques.map((t) => t.id).join(',')],
    ['flexString2', alert.dedup_key],
  ];
  const body: string[] = [];
  for (const [key, value] of ext) {
    if (value === null || value === undefined || value === '') continue;
    const label = CUSTOM_LABELS[key];
    if (label) body.push(`${key}Label=${label}`);
    body.push(`${key}=${cefValue(String(value))}`);
  }
  const header = [
    'CEF:0',
    cefHeader(PRODUCT.vendor),
    cefHeader(PRODUCT.name),
    cefHeader(version()),
    cefHeader(ruleId(alert.rule) || 'alert'),
    cefHeader(alert.rule),
    String(severityOf(alert.priority).cef),
  ].join('|');
  return `${header}|${body.join(' ')}`;
}
