/**
 * Every output format against attacker-chosen strings. A forged event puts them in the rule
 * name, the output text, field values and field names; each format must still write exactly one
 * record that its reader parses back, with no character its reader would act on: a terminal
 * (escape sequences), a syslog collector or CEF parser (line breaks, `|`, `=`, `]`, `"`, `\`),
 * a JSON reader (anything at all). Checked with a corpus of known-bad strings, then with
 * fast-check over arbitrary ones (lone surrogates included).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { enrichAlert } from '../../src/alerts/enrich.js';
import { formatCef } from '../../src/alerts/formats/cef.js';
import { formatEcs } from '../../src/alerts/formats/ecs.js';
import { formatNative } from '../../src/alerts/formats/native.js';
import { formatOcsf } from '../../src/alerts/formats/ocsf.js';
import { formatPretty } from '../../src/alerts/formats/pretty.js';
import { formatSyslog, formatSyslogWithin, frameOctetCounting, MIN_SYSLOG_MESSAGE_BYTES } from '../../src/alerts/formats/syslog.js';
import { shellAlert, T0 } from '../support/alerts.js';
import { deframeOctetCounting, parse5424, parseCef, sdParam } from './format-readers.js';

const HUGE = 'A'.repeat(100 * 1024);

/** Strings an attacker in a container can get into an event, each aimed at some reader. */
const HOSTILE: readonly string[] = [
  '',
  'line one\nline two',
  'carriage\rreturn',
  'windows\r\nline',
  'nul\u0000byte',
  '\u001b[31mred\u001b[0m \u001b[2J\u001b[H cleared',
  '\u001b]8;;https://evil.example/\u001b\\click me\u001b]8;;\u001b\\',
  '\u001b]0;window title\u0007',
  'bell\u0007',
  'abc\b\b\bxyz',
  'pipe|in|header',
  'equals=sign a=b',
  'back\\slash\\',
  'close]bracket',
  'quote"mark',
  '"]\\',
  'line\u2028separator',
  'para\u2029separator',
  'next\u0085line',
  'vertical\u000btab\u000cfeed',
  'del\u007f',
  '8-bit csi \u009b31m',
  'lone \ud800 high',
  'lone \udfff low',
  '\udc00\ud800',
  'user \u202eexe.txt',
  'isolate \u2066x\u2069',
  'tab\there',
  'emoji 😀 and é',
  'ok\n<13>1 2025-01-01T00:00:00Z forged app - - - forged syslog message',
  'ok\nCEF:0|Evil|Evil|1|x|forged|10|msg=forged',
  'x cs1=forged dvchost=evil',
  '[forged@1 a="b"]',
  '__proto__',
  'constructor',
  HUGE,
  `${HUGE}\n${HUGE}`,
];

const BASE = enrichAlert({ ...shellAlert({ priority: 'Critical', timeNs: T0 }), cluster: 'prod-eu', runbook: 'https://runbooks.example.com/x' });

/** The alert a forged event with `s` in every string it controls would produce. */
function hostileAlert(s: string): Alert {
  const base = BASE;
  const ev = base.evidence[0]!;
  return {
    ...base,
    rule: s,
    output: s,
    hostname: s,
    node: s,
    cluster: s,
    runbook: s,
    dedup_key: s,
    tags: [...base.tags, s],
    workload: { namespace: s, pod: s, container_id: s, container_name: s, image: s },
    process: { ...base.process, name: s, cmdline: s, parent: s, user: s },
    evidence: [{ ...ev, rule: s, output: s, hostname: s, tags: [...ev.tags, s], fields: { ...ev.fields, 'proc.cmdline': s, [s]: s } }],
  };
}

// Independent of the writers: the documented mappings, code point by code point.
const LINE_BREAKS = new Set(['\n', '\u000b', '\u000c', '\r', '\u0085', '\u2028', '\u2029']);

function isControl(c: string): boolean {
  const code = c.codePointAt(0)!;
  const lone = c.length === 1 && code >= 0xd800 && code <= 0xdfff;
  return (code < 0x20 && c !== '\t') || (code >= 0x7f && code <= 0x9f) || lone;
}

/** Line breaks (CR LF as one) to `br(break)`, other controls and lone surrogates to U+FFFD. */
function mapped(s: string, br: (lineBreak: string) => string): string {
  let out = '';
  const cps = [...s];
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === '\r' && cps[i + 1] === '\n') {
      out += br('\r\n');
      i++;
    } else if (LINE_BREAKS.has(c)) out += br(c);
    else if (isControl(c)) out += '\ufffd';
    else out += c;
  }
  return out;
}
const oneLine = (s: string) => mapped(s, () => ' ');
const cefExtension = (s: string) => mapped(s, (b) => (b === '\r' ? '\r' : '\n'));

const RAW_UNSAFE_FOR_JSON_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]|[\ud800-\udfff]/u;

type Obj = Record<string, unknown>;

function checkJsonFormats(s: string): void {
  const a = hostileAlert(s);
  for (const [name, line] of [
    ['native', formatNative(a)],
    ['ecs', formatEcs(a)],
    ['ocsf', formatOcsf(a)],
  ] as const) {
    expect(RAW_UNSAFE_FOR_JSON_LINE.test(line), `${name} writes a raw control, separator or bidi character`).toBe(false);
  }
  const native = JSON.parse(formatNative(a)) as Obj;
  expect(native['rule']).toBe(s);
  expect(native['output']).toBe(s);
  expect((native['process'] as Obj)['cmdline']).toBe(s);
  const evidence = (native['evidence'] as Obj[])[0]!;
  expect(Object.hasOwn(evidence['output_fields'] as Obj, s)).toBe(true);
  expect((evidence['output_fields'] as Obj)[s]).toBe(s);

  const ecs = JSON.parse(formatEcs(a)) as Obj;
  if (s !== '') {
    expect(ecs['message']).toBe(s);
    expect((ecs['rule'] as Obj)['name']).toBe(s);
    expect((ecs['process'] as Obj)['command_line']).toBe(s);
  }
  const original = JSON.parse((ecs['event'] as Obj)['original'] as string) as Obj;
  expect(original['output']).toBe(s);
  expect((original['output_fields'] as Obj)[s]).toBe(s);

  const ocsf = JSON.parse(formatOcsf(a)) as Obj;
  if (s !== '') {
    expect(ocsf['message']).toBe(s);
    expect((ocsf['finding_info'] as Obj)['title']).toBe(s);
  }
  const data = ((ocsf['evidences'] as Obj[])[0]!['data'] as Obj)['output_fields'] as Obj;
  expect(Object.hasOwn(data, s)).toBe(true);
  expect(data[s]).toBe(s);
}

const BENIGN_CEF_KEYS = [...parseCef(formatCef(hostileAlert('x'))).extension.keys()];

function checkCef(s: string): void {
  const line = formatCef(hostileAlert(s));
  const cef = parseCef(line);
  expect(cef.vendor).toBe('Lanner');
  expect(cef.name).toBe(oneLine(s));
  expect(cef.signatureId).toMatch(/^[a-z0-9_]+$/);
  expect(cef.severity).toBe('9');
  // The same keys as a harmless alert: nothing forged, nothing lost.
  if (s !== '') expect([...cef.extension.keys()]).toEqual(BENIGN_CEF_KEYS);
  for (const key of ['msg', 'dhost', 'duser', 'dproc', 'sproc', 'cs1', 'cs2', 'cs3', 'cs4', 'cs5', 'flexString2']) {
    expect(cef.extension.get(key), key).toBe(s === '' ? undefined : cefExtension(s));
  }
  expect(cef.extension.get('externalId')).toBe(BASE.id);
}

function checkSyslog(s: string): void {
  const a = hostileAlert(s);
  const want = oneLine(s);
  for (const message of ['output', 'json', 'cef'] as const) {
    const text = formatSyslog(a, { message });
    const m = parse5424(text);
    expect(m.hostname).toMatch(/^[\x21-\x7e]{1,255}$/);
    expect(m.sd.map((e) => e.id)).toEqual(want === '' ? ['lanner@32473', 'proc@32473', 'mitre@32473'] : ['lanner@32473', 'k8s@32473', 'proc@32473', 'mitre@32473']);
    expect(sdParam(m, 'lanner@32473', 'id')).toBe(a.id);
    expect(sdParam(m, 'lanner@32473', 'rule')).toBe(want === '' ? undefined : want);
    expect(sdParam(m, 'proc@32473', 'cmdline')).toBe(want === '' ? undefined : want);
    expect(sdParam(m, 'k8s@32473', 'pod')).toBe(want === '' ? undefined : want);
    expect(sdParam(m, 'lanner@32473', 'runbook')).toBe(want === '' ? undefined : want);
    if (message === 'output') expect(m.msg).toBe(want === '' ? undefined : want);
    if (message === 'json') expect((JSON.parse(m.msg!) as Obj)['rule']).toBe(s);
    if (message === 'cef') expect(parseCef(m.msg!).name).toBe(want);
    // Octet counting counts bytes: the frame gives back exactly the message.
    expect(deframeOctetCounting(Buffer.concat([frameOctetCounting(text), frameOctetCounting(text)]))).toEqual([text, text]);
  }
}

function checkSyslogWithin(s: string, maxBytes: number): void {
  const a = hostileAlert(s);
  const fitted = formatSyslogWithin(a, { message: 'output' }, maxBytes);
  expect(fitted.bytes.length).toBeLessThanOrEqual(maxBytes);
  const text = fitted.bytes.toString('utf8');
  // Cut at character boundaries: the bytes are well-formed UTF-8.
  expect(Buffer.from(text, 'utf8').equals(fitted.bytes)).toBe(true);
  const m = parse5424(text);
  expect(sdParam(m, 'lanner@32473', 'id')).toBe(a.id);
  const whole = formatSyslog(a, { message: 'output' });
  expect(fitted.truncated).toBe(Buffer.byteLength(whole) > maxBytes);
  if (!fitted.truncated) expect(text).toBe(whole);
}

// Our own colours are the only escape sequences pretty may write.
const OUR_SGR = /\u001b\[[0-9;]*m/g;
const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]|[\ud800-\udfff]/u;

function checkPretty(s: string): void {
  for (const colour of [true, false]) {
    const text = formatPretty(hostileAlert(s), colour);
    const lines = text.split('\n');
    expect(lines).toHaveLength(2);
    if (!colour) expect(text).not.toContain('\u001b');
    for (const line of lines) expect(TERMINAL_UNSAFE.test(line.replace(OUR_SGR, '')), JSON.stringify(line.slice(0, 200))).toBe(false);
  }
}

const label = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}... (${s.length} chars)` : s);

describe('hostile strings through every format (corpus)', () => {
  it.each(HOSTILE.map((s) => [label(s), s]))('native, ECS and OCSF stay one valid JSON line and round-trip %s', (_, s) => checkJsonFormats(s));
  it.each(HOSTILE.map((s) => [label(s), s]))('CEF stays one record a spec parser reads back, no key forged: %s', (_, s) => checkCef(s));
  it.each(HOSTILE.map((s) => [label(s), s]))('RFC 5424 parses, SD params round-trip, MSG stays one line: %s', (_, s) => checkSyslog(s));
  it.each(HOSTILE.map((s) => [label(s), s]))('RFC 5424 fitted to the smallest datagram any receiver takes still parses: %s', (_, s) =>
    checkSyslogWithin(s, MIN_SYSLOG_MESSAGE_BYTES),
  );
  it.each(HOSTILE.map((s) => [label(s), s]))('pretty writes two lines and no escape sequence but its own colours: %s', (_, s) => checkPretty(s));

  it('shows terminal controls in pretty as visible escapes, not as nothing', () => {
    const text = formatPretty(hostileAlert('\u001b[31mred\u0007\u202e'), false);
    expect(text.split('\n')[0]).toContain('\\x1b[31mred\\x07\\u202e');
  });

  it('writes CEF line breaks as the \\n and \\r escapes of the specification, and other controls as U+FFFD', () => {
    const line = formatCef(hostileAlert('a\r\nb\rc\nd\u2028e\u0000f\u001bg'));
    expect(line).toContain('msg=a\\nb\\rc\\nd\\ne\ufffdf\ufffdg ');
    expect(line).toContain('|a b c d e\ufffdf\ufffdg|9|');
  });
});

// Arbitrary strings, every code unit possible, with the corpus's characters overweighted.
const NASTY = ['\r', '\n', '\r\n', '\u0000', '\u001b', '\u001b[', '\u0007', '\b', '|', '=', '\\', ']', '"', '[', ' ', '\u2028', '\u2029', '\u0085', '\u009b', '\ud800', '\udc00', '\u202e', 'é', '😀', 'a', 'cs1', 'msg'];
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.array(fc.constantFrom(...NASTY), { maxLength: 40 }).map((parts) => parts.join('')),
  fc.constantFrom(...HOSTILE.filter((s) => s.length < 1000)),
);

describe('hostile strings through every format (properties)', () => {
  const runs = { numRuns: 300 };
  it('native, ECS and OCSF: one valid JSON line, every string exactly as sent', () => fc.assert(fc.property(hostileString, (s) => checkJsonFormats(s)), runs));
  it('CEF: one record, parsed back per the specification, no key forged', () => fc.assert(fc.property(hostileString, (s) => checkCef(s)), runs));
  it('RFC 5424: parses, SD params and MSG round-trip as one line, octet counting counts bytes', () =>
    fc.assert(fc.property(hostileString, (s) => checkSyslog(s)), runs));
  it('RFC 5424 fitted to any datagram size from 480 bytes: parses, fits, the id intact', () =>
    fc.assert(
      fc.property(hostileString, fc.integer({ min: MIN_SYSLOG_MESSAGE_BYTES, max: 4096 }), (s, max) => checkSyslogWithin(s.repeat(20), max)),
      runs,
    ));
  it('pretty: two lines, no escape sequence but its own', () => fc.assert(fc.property(hostileString, (s) => checkPretty(s)), runs));
});
