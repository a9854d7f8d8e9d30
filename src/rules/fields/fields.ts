/**
 * How a compiled condition reads a field from an event. Most fields are `event.fields[key]`
 * (Falco's output_fields, typed by the normalizer). A few Falco fields that the feed does not
 * forward can be computed exactly from ones it does (`fd.typechar` from `fd.type`, ...), and the
 * event's envelope (`rule`, `priority`, ...) is readable as `falco.*` fields. Transformers
 * (`tolower(...)`) wrap a reader. Readers never throw.
 */
import type { FalcoEvent, FieldValue, Fields } from '../../core/event.js';
import { fieldKey, type Operand } from '../language/ast.js';
import { asciiLower, asciiUpper } from '../compiler/compare.js';

/** Reads one field; undefined when the event does not carry it, null when Falco had no value. */
export type FieldReader = (event: FalcoEvent) => FieldValue | undefined;

interface Derivation {
  /** Fields the value is computed from. */
  readonly from: readonly string[];
  readonly compute: (fields: Fields) => FieldValue | undefined;
}

// A Map: the key is the event's own fd.type, which may be any text, `__proto__` included.
const FD_TYPECHAR: ReadonlyMap<string, string> = new Map([['file', 'f'], ['directory', 'd'], ['ipv4', '4'], ['ipv6', '6'], ['unix', 'u'], ['pipe', 'p'], ['event', 'e'], ['signalfd', 's'], ['eventpoll', 'l'], ['inotify', 'i'], ['timerfd', 't'], ['netlink', 'n'], ['bpf', 'b'], ['memfd', 'm']]);

/** An open flag test over Falco's rendering of the flags (`O_RDONLY|O_CLOEXEC`). */
function openFlags(...flags: string[]): (fields: Fields) => FieldValue | undefined {
  return (fields) => {
    const v = fields['evt.arg.flags'];
    if (typeof v !== 'string') return v === undefined ? undefined : null;
    for (const f of flags) if (hasFlag(v, f)) return true;
    return false;
  };
}

function hasFlag(rendered: string, flag: string): boolean {
  let i = rendered.indexOf(flag);
  while (i >= 0) {
    const end = i + flag.length;
    // O_RDWR must not be found inside some longer flag name
    if ((i === 0 || rendered.charAt(i - 1) === '|') && (end === rendered.length || rendered.charAt(end) === '|')) return true;
    i = rendered.indexOf(flag, end);
  }
  return false;
}

/**
 * Falco's either-end fields (`fd.net`, `fd.ip`) as the ends the event has: client and server
 * address, whichever are present; network.ts compares them as libsinsp's compare_net and
 * compare_ip do.
 */
const EITHER_END: Derivation = {
  from: ['fd.cip', 'fd.sip'],
  compute: (fields) => {
    const c = fields['fd.cip'];
    const s = fields['fd.sip'];
    if (c === undefined && s === undefined) return undefined;
    const ends: string[] = [];
    if (typeof c === 'string' && c !== '') ends.push(c);
    if (typeof s === 'string' && s !== '') ends.push(s);
    return ends.length > 0 ? ends : null;
  },
};

function alias(key: string): Derivation {
  return { from: [key], compute: (fields) => fields[key] };
}

/**
 * Falco fields Lanner computes when the event does not carry them, from fields it does. Each is
 * exact for the events Falco's rules apply them to (open flags on open events, ...).
 */
export const DERIVED_FIELDS: ReadonlyMap<string, Derivation> = new Map<string, Derivation>([
  ['fd.typechar', {
    from: ['fd.type'],
    compute: (fields) => {
      const t = fields['fd.type'];
      if (typeof t !== 'string') return t === undefined ? undefined : null;
      return FD_TYPECHAR.get(t) ?? null;
    },
  }],
  ['evt.is_open_read', { from: ['evt.arg.flags'], compute: openFlags('O_RDONLY', 'O_RDWR') }],
  ['evt.is_open_write', { from: ['evt.arg.flags'], compute: openFlags('O_WRONLY', 'O_RDWR') }],
  ['evt.is_open_create', { from: ['evt.arg.flags'], compute: openFlags('O_CREAT') }],
  ['evt.failed', {
    from: ['evt.rawres'],
    compute: (fields) => {
      const r = fields['evt.rawres'];
      if (typeof r === 'number') return r < 0;
      if (typeof r === 'bigint') return r < 0n;
      return r === undefined ? undefined : null;
    },
  }],
  // Falco builds proc.cmdline as the process name, a space and the arguments.
  ['proc.args', {
    from: ['proc.cmdline', 'proc.name'],
    compute: (fields) => {
      const cmdline = fields['proc.cmdline'];
      const name = fields['proc.name'];
      if (typeof cmdline !== 'string' || typeof name !== 'string') return cmdline === undefined || name === undefined ? undefined : null;
      if (cmdline === name) return '';
      return cmdline.startsWith(name) && cmdline.charCodeAt(name.length) === 32 ? cmdline.slice(name.length + 1) : null;
    },
  }],
  // Falco's own equivalences: ancestor 0 is the process, ancestor 1 its parent.
  ['proc.aname[0]', alias('proc.name')],
  ['proc.aname[1]', alias('proc.pname')],
  ['proc.aexepath[0]', alias('proc.exepath')],
  ['proc.aexepath[1]', alias('proc.pexepath')],
  ['proc.aexe[0]', alias('proc.exe')],
  ['proc.aexe[1]', alias('proc.pexe')],
  ['proc.acmdline[0]', alias('proc.cmdline')],
  ['proc.acmdline[1]', alias('proc.pcmdline')],
  ['proc.apid[0]', alias('proc.pid')],
  ['proc.apid[1]', alias('proc.ppid')],
  ['syscall.type', alias('evt.type')],
  // Falco's network fields test the address of the same end (sinsp_filtercheck_fd.cpp extracts
  // fd.snet as fd.sip, ...), compared as networks (network.ts).
  ['fd.snet', alias('fd.sip')],
  ['fd.cnet', alias('fd.cip')],
  ['fd.lnet', alias('fd.lip')],
  ['fd.rnet', alias('fd.rip')],
  ['fd.net', EITHER_END],
  ['fd.ip', EITHER_END],
]);

/** Fields read from the event's envelope rather than its output_fields. */
const ENVELOPE: ReadonlyMap<string, FieldReader> = new Map<string, FieldReader>([
  ['falco.rule', (e) => e.rule],
  ['falco.priority', (e) => e.priority],
  ['falco.source', (e) => e.source],
  ['falco.hostname', (e) => e.hostname],
  ['falco.tags', (e) => e.tags],
]);

/** Envelope fallbacks for real Falco fields that the envelope also carries. */
const ENVELOPE_FALLBACK: ReadonlyMap<string, FieldReader> = new Map<string, FieldReader>([
  ['evt.hostname', (e) => e.hostname],
  ['evt.source', (e) => e.source],
]);

/**
 * How an operand's value is obtained: the output field read first (none for the envelope), and
 * what turns that raw value into the operand's value (a derivation, a fallback, transformers).
 * Readers are built from it, and so is generated code (codegen.ts), which reads `key` itself.
 */
export interface OperandAccess {
  /** The output_fields key read first; undefined when the value comes from the envelope alone. */
  readonly key: string | undefined;
  /** Completes the value from the raw field value; undefined when the raw value is the value. */
  readonly finish: ((raw: FieldValue | undefined, event: FalcoEvent) => FieldValue | undefined) | undefined;
}

function fieldAccess(key: string): OperandAccess {
  const envelope = ENVELOPE.get(key);
  if (envelope) return { key: undefined, finish: (_raw, e) => envelope(e) };
  const fallback = ENVELOPE_FALLBACK.get(key);
  if (fallback) return { key, finish: (raw, e) => (raw === undefined ? fallback(e) : raw) };
  const derived = DERIVED_FIELDS.get(key);
  if (derived) {
    const compute = derived.compute;
    return { key, finish: (raw, e) => (raw === undefined ? compute(e.fields) : raw) };
  }
  return { key, finish: undefined };
}

function readerOf(access: OperandAccess): FieldReader {
  const { key, finish } = access;
  if (key === undefined) return (e) => finish!(undefined, e);
  if (finish === undefined) return (e) => e.fields[key];
  return (e) => finish(e.fields[key], e);
}

/** A reader for one field key (`proc.aname[2]`, `evt.arg.flags`, `falco.rule`). */
export function fieldReader(key: string): FieldReader {
  return readerOf(fieldAccess(key));
}

/** True for fields that come from the envelope, which every event has. */
export function isEnvelopeField(key: string): boolean {
  return ENVELOPE.has(key) || ENVELOPE_FALLBACK.has(key);
}

// ---------------------------------------------------------------------------------------------
// Transformers. They run per event on the value read, so they are only as costly as the rules
// that use them; each returns null for a value it cannot transform.

type ScalarTransform = (v: string | number | bigint | boolean) => FieldValue;

function textOf(v: string | number | bigint | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

const TRANSFORMS: Readonly<Record<string, ScalarTransform>> = {
  // libsinsp's transformers work on bytes: ASCII case only, length in UTF-8 bytes.
  tolower: (v) => asciiLower(textOf(v)),
  toupper: (v) => asciiUpper(textOf(v)),
  b64: (v) => Buffer.from(textOf(v), 'base64').toString('utf8'),
  basename: (v) => {
    const s = textOf(v);
    return s.slice(s.lastIndexOf('/') + 1);
  },
  len: (v) => Buffer.byteLength(textOf(v), 'utf8'),
};

/** A transformer over a whole value: null and undefined pass through, lists map item by item. */
function transformValue(fn: string): (v: FieldValue | undefined) => FieldValue | undefined {
  const t = TRANSFORMS[fn]!;
  if (fn === 'len') {
    return (v) => {
      if (v === undefined || v === null) return v;
      return Array.isArray(v) ? v.length : t(v as string);
    };
  }
  return (v) => {
    if (v === undefined || v === null) return v;
    if (Array.isArray(v)) return (v as readonly string[]).map((item) => String(t(item)));
    return t(v as string | number | bigint | boolean);
  };
}

/** How to obtain an operand's value: a field, through any transformers around it. */
export function operandAccess(o: Operand): OperandAccess {
  if (o.kind === 'field') return fieldAccess(fieldKey(o));
  const inner = operandAccess(o.operand);
  const t = transformValue(o.fn);
  const before = inner.finish;
  return { key: inner.key, finish: before ? (raw, e) => t(before(raw, e)) : (raw) => t(raw) };
}

/** A reader for an operand: a field, through any transformers around it. */
export function operandReader(o: Operand): FieldReader {
  return readerOf(operandAccess(o));
}

/**
 * The event fields a field key is computed from: itself, or for a derived field what it derives
 * from; the envelope needs none.
 */
export function sourceFieldsOf(key: string): readonly string[] {
  if (ENVELOPE.has(key)) return [];
  const derived = DERIVED_FIELDS.get(key);
  return derived ? derived.from : [key];
}
