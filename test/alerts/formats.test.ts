import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { enrichAlert } from '../../src/alerts/enrich.js';
import { cefHeader, cefValue, formatCef } from '../../src/alerts/formats/cef.js';
import { formatEcs } from '../../src/alerts/formats/ecs.js';
import { FORMAT_NAMES, FORMATS } from '../../src/alerts/formats/index.js';
import { formatNative } from '../../src/alerts/formats/native.js';
import { formatOcsf } from '../../src/alerts/formats/ocsf.js';
import { formatSyslog, formatSyslogWithin, frameOctetCounting, sdEscape, sdName, sdValue, syslogTimestamp } from '../../src/alerts/formats/syslog.js';
import { escapeJsonText, jsonLine, oneLine, terminalText, truncateUtf8 } from '../../src/alerts/formats/text.js';
import { formatPretty } from '../../src/alerts/formats/pretty.js';
import { mitreFromTags } from '../../src/alerts/mitre.js';
import { severityOf } from '../../src/alerts/severity.js';
import { parseJsonExact } from '../../src/core/exact-json.js';
import { shellAlert, T0 } from '../support/alerts.js';

const BASE = enrichAlert(
  { ...shellAlert({ priority: 'Critical', timeNs: T0 + 123_456_789n }), node: 'worker-2', cluster: 'prod-eu', runbook: 'https://runbooks.example.com/shell' },
);
const FOLDED: Alert = { ...BASE, count: 50, dedup_key: 'abc123', first_seen: T0, last_seen: T0 + 123_456_789n, summary_of: 'first-id' };

type Obj = Record<string, unknown>;
const obj = (line: string) => JSON.parse(line) as Obj;

describe('MITRE and severity enrichment', () => {
  it('reads technique ids and mitre_ tactics from tags, once each, in tag order', () => {
    expect(mitreFromTags(['container', 'T1059.004', 'mitre_execution', 't1059.004', 'mitre_privilege_escalation', 'TA0005', 'mitre_bogus'])).toEqual({
      techniques: [{ id: 'T1059.004' }],
      tactics: [
        { id: 'TA0002', name: 'Execution' },
        { id: 'TA0004', name: 'Privilege Escalation' },
        { id: 'TA0005', name: 'Defense Evasion' },
      ],
    });
    expect(mitreFromTags(['container', 'shell'])).toBeUndefined();
  });

  it('maps every Falco priority onto each scale', () => {
    expect(['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug'].map((p) => severityOf(p as never))).toMatchObject([
      { severity: 'critical', ocsfId: 6, cef: 10, syslog: 0 },
      { severity: 'critical', ocsfId: 5, cef: 9, syslog: 1 },
      { severity: 'critical', ocsfId: 5, cef: 9, syslog: 2 },
      { severity: 'high', ocsfId: 4, cef: 7, syslog: 3 },
      { severity: 'medium', ocsfId: 3, cef: 5, syslog: 4 },
      { severity: 'low', ocsfId: 2, cef: 3, syslog: 5 },
      { severity: 'informational', ocsfId: 1, cef: 1, syslog: 6 },
      { severity: 'informational', ocsfId: 1, cef: 0, syslog: 7 },
    ]);
  });

  it('keeps a runbook the rule set over the config default', () => {
    expect(enrichAlert({ ...shellAlert(), runbook: 'https://a' }, { runbooks: new Map([['Terminal shell in container', 'https://b']]) }).runbook).toBe('https://a');
    expect(enrichAlert(shellAlert(), { defaultRunbook: 'https://c' }).runbook).toBe('https://c');
  });
});

describe('native format', () => {
  it('adds lifecycle fields only once set, times as RFC 3339 nanoseconds', () => {
    expect(obj(formatNative(shellAlert()))).not.toHaveProperty('dedup_key');
    expect(obj(formatNative(FOLDED))).toMatchObject({
      count: 50,
      severity: 'critical',
      runbook: 'https://runbooks.example.com/shell',
      dedup_key: 'abc123',
      first_seen: '2025-11-24T13:24:56.000000000Z',
      last_seen: '2025-11-24T13:24:56.123456789Z',
      summary_of: 'first-id',
      mitre: { techniques: [{ id: 'T1059.004' }], tactics: [{ id: 'TA0002', name: 'Execution' }] },
    });
  });
});

describe('ECS format', () => {
  it('writes the ECS fields field by field', () => {
    const d = obj(formatEcs(FOLDED));
    expect(d['@timestamp']).toBe('2025-11-24T13:24:56.123456789Z');
    expect(d['message']).toBe('A shell was spawned in container 3f2a9c1e7b44');
    expect(d['ecs']).toEqual({ version: '8.11.0' });
    expect(d['event']).toMatchObject({
      kind: 'alert',
      category: ['intrusion_detection', 'process'],
      type: ['info'],
      severity: 99,
      id: BASE.id,
      dataset: 'lanner.alert',
      provider: 'falco',
      start: '2025-11-24T13:24:56.000000000Z',
      end: '2025-11-24T13:24:56.123456789Z',
    });
    expect(JSON.parse((d['event'] as Obj)['original'] as string)).toMatchObject({ rule: 'Terminal shell in container' });
    expect(d['rule']).toEqual({ name: 'Terminal shell in container', id: 'terminal_shell_in_container', ruleset: 'falco', reference: 'https://runbooks.example.com/shell', category: 'Execution' });
    expect(d['threat']).toEqual({
      framework: 'MITRE ATT&CK',
      technique: {
        id: ['T1059'],
        reference: ['https://attack.mitre.org/techniques/T1059/'],
        subtechnique: { id: ['T1059.004'], reference: ['https://attack.mitre.org/techniques/T1059/004/'] },
      },
      tactic: { id: ['TA0002'], name: ['Execution'], reference: ['https://attack.mitre.org/tactics/TA0002/'] },
    });
    expect(d['host']).toEqual({ name: 'worker-2', hostname: 'node-1' });
    expect(d['container']).toEqual({ id: '3f2a9c1e7b44', name: 'checkout', image: { name: 'registry.example.com/shop/checkout', tag: ['1.8.2'] } });
    expect(d['orchestrator']).toEqual({ type: 'kubernetes', cluster: { name: 'prod-eu' }, namespace: 'shop', resource: { type: 'pod', name: 'checkout-3f2a' } });
    expect(d['process']).toEqual({ pid: 7400, name: 'sh', command_line: 'sh -i', parent: { name: 'runc' }, user: { name: 'root', id: '0' } });
    expect(d['user']).toEqual({ name: 'root', id: '0' });
    expect(d['lanner']).toMatchObject({ count: 50, dedup_key: 'abc123', summary_of: 'first-id', origin: 'falco' });
  });

  it('leaves out what the alert does not know instead of writing null', () => {
    const d = obj(formatEcs(enrichAlert(shellAlert({ tags: [], fields: { 'k8s.ns.name': null, 'k8s.pod.name': null, 'container.id': 'host', 'proc.pname': null } }))));
    expect(d).not.toHaveProperty('threat');
    expect(d).not.toHaveProperty('orchestrator');
    expect(d).not.toHaveProperty('container');
    expect(d['process']).not.toHaveProperty('parent');
    // (event.original is Falco's raw event, nulls included by design)
    expect(JSON.stringify({ ...d, event: { ...(d['event'] as Obj), original: undefined } })).not.toContain('null');
  });
});

describe('OCSF Detection Finding', () => {
  it('writes class, activity, severity, finding_info, evidences, resources, metadata and time', () => {
    const f = obj(formatOcsf(BASE));
    expect(f).toMatchObject({
      class_uid: 2004,
      class_name: 'Detection Finding',
      category_uid: 2,
      category_name: 'Findings',
      activity_id: 1,
      activity_name: 'Create',
      type_uid: 200401,
      severity_id: 5,
      severity: 'Critical',
      status_id: 1,
      is_alert: true,
      time: Number((T0 + 123_456_789n) / 1_000_000n),
      count: 1,
      message: 'A shell was spawned in container 3f2a9c1e7b44',
    });
    expect(f['metadata']).toMatchObject({ version: '1.4.0', product: { name: 'Lanner', vendor_name: 'Lanner' }, uid: BASE.id });
    expect(f['finding_info']).toMatchObject({
      uid: BASE.id,
      title: 'Terminal shell in container',
      desc: 'A shell was spawned in container 3f2a9c1e7b44',
      analytic: { name: 'Terminal shell in container', type_id: 1, type: 'Rule' },
      src_url: 'https://runbooks.example.com/shell',
      attacks: [{ technique: { uid: 'T1059' }, sub_technique: { uid: 'T1059.004' }, tactic: { uid: 'TA0002', name: 'Execution' }, version: 'v15' }],
    });
    const ev = (f['evidences'] as Obj[])[0]!;
    expect(ev['process']).toEqual({ pid: 7400, name: 'sh', cmd_line: 'sh -i', parent_process: { name: 'runc' }, user: { name: 'root', uid: '0' } });
    expect(ev['container']).toEqual({ uid: '3f2a9c1e7b44', name: 'checkout', image: { name: 'registry.example.com/shop/checkout', tag: '1.8.2' } });
    expect((ev['data'] as Obj)['rule']).toBe('Terminal shell in container');
    expect(f['resources']).toEqual([
      { type: 'Kubernetes Pod', name: 'checkout-3f2a', namespace: 'shop', labels: ['cluster:prod-eu'] },
      { type: 'Container', uid: '3f2a9c1e7b44', name: 'checkout', namespace: 'shop', data: { image: 'registry.example.com/shop/checkout:1.8.2' } },
      { type: 'Host', name: 'worker-2' },
    ]);
  });

  it('writes a cooldown summary as an Update of the finding the first alert created', () => {
    const f = obj(formatOcsf(FOLDED));
    expect(f).toMatchObject({ activity_id: 2, type_uid: 200402, count: 50, start_time: Number(T0 / 1_000_000n) });
    expect(f['finding_info']).toMatchObject({ uid: 'first-id', first_seen_time: Number(T0 / 1_000_000n) });
    expect(f['metadata']).toMatchObject({ correlation_uid: 'abc123' });
  });
});

describe('CEF', () => {
  it('escapes | and \\ in header fields, = \\ and line breaks in extension values, exactly', () => {
    expect(cefHeader('a|b\\c')).toBe('a\\|b\\\\c');
    expect(cefValue('a=b\\c|d\ne\r\nf\rg')).toBe('a\\=b\\\\c|d\\ne\\nf\\rg');
  });

  it('keeps header fields on one line and replaces controls CEF has no escape for', () => {
    expect(cefHeader('a\r\nb\nc\u2028d\u0000e\u001b[31m')).toBe('a b c d\ufffde\ufffd[31m');
    expect(cefValue('a\u000bb\u0085c\u2029d\u0007e\ud800f\tg')).toBe('a\\nb\\nc\\nd\ufffde\ufffdf\tg');
  });

  it('writes the header and the extension keys', () => {
    const rule = 'Shell | in \\ container';
    const line = formatCef({ ...FOLDED, rule, output: 'cmd=sh -c "x"\nnext', process: { ...FOLDED.process, cmdline: 'sh -c a=b' } });
    const [head, ext] = [line.split('|').slice(0, 7), line];
    expect(head[0]).toBe('CEF:0');
    expect(head[1]).toBe('Lanner');
    expect(head[2]).toBe('Lanner');
    expect(line).toContain('|shell_in_container|Shell \\| in \\\\ container|9|');
    const extension = ext.slice(ext.indexOf('|9|') + 3);
    expect(extension).toContain(`rt=${Number((T0 + 123_456_789n) / 1_000_000n)} `);
    expect(extension).toContain(`externalId=${FOLDED.id} `);
    expect(extension).toContain('msg=cmd\\=sh -c "x"\\nnext ');
    expect(extension).toContain('dvchost=worker-2 dhost=node-1 duser=root duid=0 dpid=7400 dproc=sh sproc=runc cnt=50 ');
    expect(extension).toContain(`start=${Number(T0 / 1_000_000n)} `);
    expect(extension).toContain('cat=Execution ');
    expect(extension).toContain('cs1Label=namespace cs1=shop cs2Label=pod cs2=checkout-3f2a ');
    expect(extension).toContain('cs3Label=containerImage cs3=registry.example.com/shop/checkout:1.8.2 ');
    expect(extension).toContain('cs5Label=commandLine cs5=sh -c a\\=b ');
    expect(extension).toContain('cs6Label=runbook cs6=https://runbooks.example.com/shell ');
    expect(extension).toContain('flexString1Label=mitreTechniques flexString1=T1059.004 flexString2Label=dedupKey flexString2=abc123');
    expect(line).not.toContain('\n');
  });
});

describe('RFC 5424 syslog', () => {
  it('writes PRI, version, microsecond timestamp, host, app-name, procid, msgid, structured data and MSG', () => {
    const msg = formatSyslog(FOLDED, { facility: 'local0' });
    // local0 (16) * 8 + Critical (2) = 130
    expect(msg.startsWith('<130>1 2025-11-24T13:24:56.123456Z worker-2 lanner - alert-summary [lanner@32473 ')).toBe(true);
    expect(msg).toContain(`[lanner@32473 id="${FOLDED.id}" rule="Terminal shell in container" priority="Critical" severity="critical" origin="falco" count="50" dedup_key="abc123"`);
    expect(msg).toContain('[k8s@32473 cluster="prod-eu" namespace="shop" pod="checkout-3f2a" container_id="3f2a9c1e7b44" container_name="checkout" image="registry.example.com/shop/checkout:1.8.2"]');
    expect(msg).toContain('[proc@32473 pid="7400" name="sh" cmdline="sh -i" parent="runc" user="root" uid="0"]');
    expect(msg).toContain('[mitre@32473 technique="T1059.004" tactic="TA0002"]');
    expect(msg.endsWith('] A shell was spawned in container 3f2a9c1e7b44')).toBe(true);
  });

  it('escapes ", \\ and ] in parameter values and nothing else', () => {
    expect(sdEscape('a"b\\c]d[e=f')).toBe('a\\"b\\\\c\\]d[e=f');
    const msg = formatSyslog({ ...BASE, process: { ...BASE.process, cmdline: 'sh -c "echo ]"' } });
    expect(msg).toContain('cmdline="sh -c \\"echo \\]\\""');
  });

  it('keeps MSG and parameter values on one line: a CR or LF would let a receiver read a forged message', () => {
    const forged = 'ok\r\n<13>1 2025-01-01T00:00:00Z evil app - - - forged\rx\u2028y\u0000z';
    const msg = formatSyslog({ ...BASE, output: forged, process: { ...BASE.process, cmdline: forged } });
    expect(msg).not.toMatch(/[\r\n\u2028\u0000]/);
    expect(msg.endsWith('] ok <13>1 2025-01-01T00:00:00Z evil app - - - forged x y\ufffdz')).toBe(true);
    expect(msg).toContain('cmdline="ok <13>1 2025-01-01T00:00:00Z evil app - - - forged x y\ufffdz"');
    expect(sdValue('a\n"]\\')).toBe('a \\"\\]\\\\');
  });

  it('writes valid SD-NAMEs: PRINTUSASCII but = space ] ", 1 to 32 characters', () => {
    expect(sdName('a'.repeat(31))).toBe('a'.repeat(31));
    expect(sdName('a'.repeat(32))).toBe('a'.repeat(32));
    expect(sdName('a'.repeat(33))).toBe('a'.repeat(32));
    expect(sdName('a=b c]d"eé\u0000')).toBe('a_b_c_d_e__');
    expect(sdName('')).toBe('_');
  });

  it('leaves MSG out, as the ABNF allows, when there is none', () => {
    expect(formatSyslog({ ...BASE, output: '' }).endsWith('tactic="TA0002"]')).toBe(true);
  });

  it('fits a message to a byte limit exactly at the boundary, cutting the longest values first and never the id', () => {
    const long = { ...BASE, output: 'é'.repeat(600), process: { ...BASE.process, cmdline: 'x'.repeat(900) } };
    const whole = Buffer.byteLength(formatSyslog(long));
    expect(formatSyslogWithin(long, {}, whole)).toEqual({ bytes: Buffer.from(formatSyslog(long)), truncated: false });
    expect(formatSyslogWithin(long, {}, whole + 1).truncated).toBe(false);
    const cut = formatSyslogWithin(long, {}, whole - 1);
    expect(cut.truncated).toBe(true);
    expect(cut.bytes.length).toBeLessThanOrEqual(whole - 1);
    const text = cut.bytes.toString('utf8');
    expect(text).toContain(`id="${BASE.id}"`);
    expect(text).toContain('rule="Terminal shell in container"');
    // Cut at a character boundary: no replacement character from a split é.
    expect(text).not.toContain('\ufffd');
    const small = formatSyslogWithin(long, {}, 1000).bytes.toString('utf8');
    expect(Buffer.byteLength(small)).toBeLessThanOrEqual(1000);
    expect(small).toContain('namespace="shop"');
  });

  it('uses the facility, app name and enterprise id given, and NILVALUE for a missing host', () => {
    const msg = formatSyslog({ ...BASE, node: '', hostname: '' }, { facility: 'auth', appName: 'falco-lanner', enterpriseId: 99999, message: 'cef' });
    expect(msg.startsWith('<34>1 2025-11-24T13:24:56.123456Z - falco-lanner - alert [lanner@99999 ')).toBe(true);
    expect(msg).toContain(' CEF:0|Lanner|');
  });

  it('truncates nanoseconds to the six digits TIME-SECFRAC allows and frames by octet count in bytes', () => {
    expect(syslogTimestamp(T0 + 999_999_999n)).toBe('2025-11-24T13:24:56.999999Z');
    // 6 characters, 7 bytes: the count is in bytes.
    expect(frameOctetCounting('<1>1 é').toString('utf8')).toBe('7 <1>1 é');
  });
});

describe('text for each reader', () => {
  it('shows every terminal control visibly and leaves ordinary text alone', () => {
    expect(terminalText('\u001b[2J\u001b]8;;http://x\u0007\r\n\t\b\u0000\u007f\u009b\u2028\u202e\ud800')).toBe(
      '\\x1b[2J\\x1b]8;;http://x\\x07\\r\\n\\t\\x08\\x00\\x7f\\x9b\\u2028\\u202e\\ud800',
    );
    expect(terminalText('sh -c "echo \\"hi\\"" é 😀')).toBe('sh -c "echo \\"hi\\"" é 😀');
  });

  it('prints pretty alerts as two lines whatever the fields hold', () => {
    const text = formatPretty({ ...BASE, rule: 'r\n\u001b[31mfake second line', hostname: 'h\r\u001b]0;t\u0007' }, true);
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toContain('r\\n\\x1b[31mfake second line');
    expect(text.replace(/\u001b\[[0-9;]*m/g, '')).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('makes one line without controls: each line break one space, CR LF included, tab kept', () => {
    expect(oneLine('a\r\nb\n\nc\rd\u000be\u000cf\u0085g\u2028h\u2029i\tj')).toBe('a b  c d e f g h i\tj');
    expect(oneLine('\u0000\u0007\u001b\u007f\u0080\u009f\udfff\ud800😀')).toBe('\ufffd'.repeat(8) + '😀');
  });

  it('writes JSON lines with separators, C1 and bidi controls escaped and the same value parsed back', () => {
    const value = { s: 'a\u2028b\u2029c\u007fd\u0085e\u202ef\u0000g\ud800h', n: 2n ** 64n };
    const line = jsonLine(value);
    expect(line).toBe('{"s":"a\\u2028b\\u2029c\\u007fd\\u0085e\\u202ef\\u0000g\\ud800h","n":18446744073709551616}');
    expect((JSON.parse(line) as { s: string }).s).toBe(value.s);
    expect(escapeJsonText('"\u2066"')).toBe('"\\u2066"');
  });

  it('truncates UTF-8 at the byte limit without splitting a character', () => {
    expect(truncateUtf8('abc', 3)).toBe('abc');
    expect(truncateUtf8('abcd', 3)).toBe('abc');
    expect(truncateUtf8('aé', 3)).toBe('aé');
    expect(truncateUtf8('aé', 2)).toBe('a');
    expect(truncateUtf8('a😀', 5)).toBe('a😀');
    expect(truncateUtf8('a😀', 4)).toBe('a');
    expect(truncateUtf8('😀', 0)).toBe('');
  });
});

describe('format registry', () => {
  it('offers every format by name, each a single line', () => {
    expect(FORMAT_NAMES).toEqual(['native', 'ecs', 'ocsf', 'cef', 'syslog']);
    for (const name of FORMAT_NAMES) {
      const out = FORMATS[name]({ ...BASE, output: 'two\nlines\rand\u2028more' });
      expect(out, name).not.toMatch(/[\r\n\u2028]/);
    }
    expect(parseJsonExact(FORMATS.ocsf(BASE))).toBeTypeOf('object');
  });
});
