/**
 * RFC 5424 syslog messages: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`.
 * Structured data carries the facts a collector can index without parsing MSG; parameter values
 * escape `"`, `\` and `]` (RFC 5424 §6.3.3). Falco's priorities are syslog severities, so PRI is
 * facility * 8 + the priority's own code. The timestamp keeps microseconds, the most RFC 5424's
 * TIME-SECFRAC allows. Framing for TCP (octet counting, RFC 6587 §3.4.1) is `frameOctetCounting`.
 */
import type { Alert } from '../alert.js';
import { mitreFromTags } from '../mitre.js';
import { severityOf } from '../severity.js';
import { formatRfc3339Ns } from '../../core/time.js';
import { hostOf } from './common.js';
import { formatCef } from './cef.js';
import { formatNative } from './native.js';

export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, ntp: 12, security: 13, console: 14, solaris_cron: 15,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

export interface SyslogFormatOptions {
  /** A facility name from FACILITIES. */
  readonly facility?: string;
  readonly appName?: string;
  /**
   * The private enterprise number in SD-IDs (`lanner@N`). 32473 is the number RFC 5612 reserves
   * for documentation; set your organisation's own where collectors key on it.
   */
  readonly enterpriseId?: number;
  /** What MSG holds: Falco's output text (default), the native JSON alert, or a CEF record. */
  readonly message?: 'output' | 'json' | 'cef';
}

/** Escapes an SD-PARAM value (RFC 5424 §6.3.3). */
export function sdEscape(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/** A header field: printable US-ASCII only, at most `max` characters, `-` when empty. */
function headerField(value: string | null | undefined, max: number): string {
  if (!value) return '-';
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** RFC 3339 with microseconds: TIME-SECFRAC allows at most six digits. */
export function syslogTimestamp(ns: bigint): string {
  const full = formatRfc3339Ns(ns); // ...SS.nnnnnnnnnZ
  return `${full.slice(0, 26)}Z`;
}

type Params = [string, string | number | null | undefined][];

function element(id: string, params: Params): string {
  const parts = params.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => `${k}="${sdEscape(String(v))}"`);
  return parts.length === 0 ? '' : `[${id} ${parts.join(' ')}]`;
}

export function msgIdOf(alert: Alert): string {
  if (alert.held_back) return 'alert-limit';
  if (alert.summary_of !== undefined) return 'alert-summary';
  return 'alert';
}

export function formatSyslog(alert: Alert, options: SyslogFormatOptions = {}): string {
  const facility = FACILITIES[options.facility ?? 'local0'] ?? 16;
  const pen = options.enterpriseId ?? 32473;
  const pri = facility * 8 + severityOf(alert.priority).syslog;
  const w = alert.workload;
  const p = alert.process;
  const mitre = alert.mitre ?? mitreFromTags(alert.tags);
  const sd = [
    element(`lanner@${pen}`, [
      ['id', alert.id],
      ['rule', alert.rule],
      ['priority', alert.priority],
      ['severity', alert.severity ?? severityOf(alert.priority).severity],
      ['origin', alert.origin],
      ['count', alert.count],
      ['dedup_key', alert.dedup_key],
      ['first_seen', alert.first_seen === undefined ? undefined : formatRfc3339Ns(alert.first_seen)],
      ['last_seen', alert.last_seen === undefined ? undefined : formatRfc3339Ns(alert.last_seen)],
      ['summary_of', alert.summary_of],
      ['held_back_rule', alert.held_back?.rule],
      ['held_back', alert.held_back?.count],
      ['runbook', alert.runbook],
    ]),
    element(`k8s@${pen}`, [
      ['cluster', alert.cluster],
      ['namespace', w.namespace],
      ['pod', w.pod],
      ['container_id', w.container_id],
      ['container_name', w.container_name],
      ['image', w.image],
    ]),
    element(`proc@${pen}`, [
      ['pid', p.pid],
      ['name', p.name],
      ['cmdline', p.cmdline],
      ['parent', p.parent],
      ['user', p.user],
      ['uid', p.uid],
    ]),
    // SD-PARAMs may repeat a name (RFC 5424 §6.3.3): one `technique` per id.
    element(`mitre@${pen}`, [
      ...(mitre?.techniques.map((t): [string, string] => ['technique', t.id]) ?? []),
      ...(mitre?.tactics.map((t): [string, string] => ['tactic', t.id]) ?? []),
    ]),
  ].join('');
  const msg = options.message === 'json' ? formatNative(alert) : options.message === 'cef' ? formatCef(alert) : alert.output;
  const header = `<${pri}>1 ${syslogTimestamp(alert.timeNs)} ${headerField(hostOf(alert), 255)} ${headerField(options.appName ?? 'lanner', 48)} - ${msgIdOf(alert)}`;
  // Line breaks inside MSG are legal with octet counting but split records on UDP-to-file
  // collectors; a single line is what every receiver handles.
  return `${header} ${sd === '' ? '-' : sd} ${msg.replace(/\r?\n/g, ' ')}`;
}

/** TCP framing by octet counting: `LEN SP MSG`, LEN in bytes of the UTF-8 message. */
export function frameOctetCounting(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
