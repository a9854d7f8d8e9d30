/**
 * RFC 5424 syslog messages: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`.
 * Structured data carries the facts a collector can index without parsing MSG; parameter values
 * escape `"`, `\` and `]` (RFC 5424 §6.3.3), and SD-NAMEs are valid whatever the config says.
 * Neither MSG nor a parameter value carries a line break or a control character (text.ts): a
 * receiver that splits on newlines must not read a forged second message. Falco's priorities
 * are syslog severities, so PRI is facility * 8 + the priority's own code. The timestamp keeps
 * microseconds, the most RFC 5424's TIME-SECFRAC allows. Framing for TCP (octet counting, RFC
 * 6587 §3.4.1) is `frameOctetCounting`; `formatSyslogWithin` fits a message to a UDP datagram.
 */
import type { Alert } from '../alert.js';
import { mitreFromTags } from '../mitre.js';
import { severityOf } from '../severity.js';
import { formatRfc3339Ns } from '../../core/time.js';
import { hostOf } from './common.js';
import { formatCef } from './cef.js';
import { formatNative } from './native.js';
import { oneLine, truncateUtf8 } from './text.js';

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

/** Escapes an SD-PARAM value (RFC 5424 §6.3.3): `"`, `\` and `]`, the three it defines. */
export function sdEscape(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/**
 * An SD-PARAM value as written between its quotes: on one line and free of control characters
 * (RFC 5424 has no escape for a line break, and receivers that split on newlines would read
 * the rest as a forged message), then escaped.
 */
export function sdValue(value: string): string {
  return sdEscape(oneLine(value));
}

/** A valid SD-NAME (SD-ID or PARAM-NAME): 1 to 32 PRINTUSASCII except `=`, space, `]` and `"`. */
export function sdName(name: string): string {
  const clean = name.replace(/[^\x21-\x7e]|[=\]"]/g, '_').slice(0, 32);
  return clean === '' ? '_' : clean;
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

/** One SD-ELEMENT before rendering: its id, and its parameters' values made one-line, unescaped. */
interface SdElement {
  readonly id: string;
  readonly params: readonly (readonly [string, string])[];
}

type Params = [string, string | number | null | undefined][];

/**
 * The parameter a message is never cut in: the alert id is how a collector matches a message to
 * the same alert elsewhere, and its length is fixed.
 */
const NEVER_CUT = 'id';

function element(id: string, params: Params): SdElement {
  const kept: [string, string][] = [];
  for (const [name, v] of params) {
    if (v === null || v === undefined || v === '') continue;
    kept.push([sdName(name), oneLine(String(v))]);
  }
  return { id: sdName(id), params: kept };
}

/**
 * STRUCTURED-DATA with each value (but the alert id) cut to at most `cap` UTF-8 bytes; a
 * parameter cut to nothing is left out, and so is an element left empty; `-` when none is left.
 */
function renderSd(elements: readonly SdElement[], cap: number): string {
  let out = '';
  for (const { id, params } of elements) {
    let body = '';
    for (const [name, value] of params) {
      const v = cap === Infinity || name === NEVER_CUT ? value : truncateUtf8(value, cap);
      if (v !== '') body += ` ${name}="${sdEscape(v)}"`;
    }
    if (body !== '') out += `[${id}${body}]`;
  }
  return out === '' ? '-' : out;
}

export function msgIdOf(alert: Alert): string {
  if (alert.held_back) return 'alert-limit';
  if (alert.summary_of !== undefined) return 'alert-summary';
  return 'alert';
}

/** The parts of one message: the header up to MSGID, the SD-ELEMENTs and MSG, all one-line. */
interface SyslogParts {
  readonly header: string;
  readonly elements: readonly SdElement[];
  readonly msg: string;
}

function partsOf(alert: Alert, options: SyslogFormatOptions): SyslogParts {
  const facility = FACILITIES[options.facility ?? 'local0'] ?? 16;
  const pen = options.enterpriseId ?? 32473;
  const pri = facility * 8 + severityOf(alert.priority).syslog;
  const w = alert.workload;
  const p = alert.process;
  const mitre = alert.mitre ?? mitreFromTags(alert.tags);
  const elements = [
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
  ];
  const msg = options.message === 'json' ? formatNative(alert) : options.message === 'cef' ? formatCef(alert) : alert.output;
  const header = `<${pri}>1 ${syslogTimestamp(alert.timeNs)} ${headerField(hostOf(alert), 255)} ${headerField(options.appName ?? 'lanner', 48)} - ${msgIdOf(alert)}`;
  // Line breaks inside MSG are legal with octet counting, but a receiver that splits on them
  // (UDP or plain TCP to a file, a SIEM reading that file) would take the rest for a second,
  // forged message: MSG is always one line.
  return { header, elements, msg: oneLine(msg) };
}

function render(parts: SyslogParts, cap: number): string {
  const msg = cap === Infinity ? parts.msg : truncateUtf8(parts.msg, cap);
  // SYSLOG-MSG = HEADER SP STRUCTURED-DATA [SP MSG]
  return `${parts.header} ${renderSd(parts.elements, cap)}${msg === '' ? '' : ` ${msg}`}`;
}

export function formatSyslog(alert: Alert, options: SyslogFormatOptions = {}): string {
  return render(partsOf(alert, options), Infinity);
}

/** A message fitted to a size limit, and whether anything had to be cut to fit. */
export interface FittedMessage {
  readonly bytes: Buffer;
  readonly truncated: boolean;
}

/** The least a syslog receiver over UDP must accept (RFC 5426 §3.2, IPv4): every header fits. */
export const MIN_SYSLOG_MESSAGE_BYTES = 480;

/**
 * The message in at most `maxBytes` UTF-8 bytes (RFC 5426: a syslog message over UDP fits one
 * datagram the receiver accepts). What is too long is cut, never the structure: every SD-PARAM
 * value and MSG is cut to one common length, the largest that fits, so short values stay whole
 * and the longest ones are shortened first, each at a character boundary; the alert id is never
 * cut. From MIN_SYSLOG_MESSAGE_BYTES up, any alert fits (a header with the longest HOSTNAME and
 * APP-NAME and the id take about 420 bytes).
 */
export function formatSyslogWithin(alert: Alert, options: SyslogFormatOptions, maxBytes: number): FittedMessage {
  const parts = partsOf(alert, options);
  const whole = Buffer.from(render(parts, Infinity), 'utf8');
  if (whole.length <= maxBytes) return { bytes: whole, truncated: false };
  let longest = Buffer.byteLength(parts.msg, 'utf8');
  for (const e of parts.elements) for (const [name, v] of e.params) if (name !== NEVER_CUT) longest = Math.max(longest, Buffer.byteLength(v, 'utf8'));
  // The size grows with the cap: find the largest cap that fits.
  let lo = 0;
  let hi = longest - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (Buffer.byteLength(render(parts, mid), 'utf8') <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return { bytes: Buffer.from(render(parts, lo), 'utf8'), truncated: true };
}

/** TCP framing by octet counting: `LEN SP MSG`, LEN in bytes of the UTF-8 message. */
export function frameOctetCounting(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
