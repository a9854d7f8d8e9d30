/**
 * Turns what a transport delivered into a FalcoEvent, or into a named reason it could not.
 * Never throws: a malformed event is data about the sender, not a fault of ours.
 */
import { FEED_TAG, type FalcoEvent, type FieldValue, type Priority, type Transport } from '../core/event.js';
import { stringifyExact, type ExactIntegers, type JsonValue } from '../core/exact-json.js';
import { parsePriority, priorityFromNumber } from '../core/priority.js';
import { formatRfc3339Ns, isEventTimeNs, nsFromSecondsNanos, parseRfc3339Ns } from '../core/time.js';
import { fieldKind } from './field-types.js';

/**
 * Why an event was refused: the label values of `lanner_events_invalid_total{reason}`, every
 * one of them known in advance so the counter can start at 0 for each.
 */
export const INVALID_REASONS = [
  'bad_json',
  'not_an_object',
  'missing_rule',
  'missing_priority',
  'unknown_priority',
  'missing_time',
  'bad_time',
  'missing_output_fields',
  'bad_output_fields',
  'bad_tags',
  /** A field whose type Lanner relies on holds another (`evt.time` must be an integer). */
  'bad_field_type',
  /** A JSON line longer than EVENT_LIMITS.maxLineBytes; it is skipped unread. */
  'line_too_long',
  /** Containers nested deeper than EVENT_LIMITS.maxDepth. */
  'too_deep',
  /** A string the event keeps longer than EVENT_LIMITS.maxStringChars. */
  'string_too_long',
  /** More `output_fields` than EVENT_LIMITS.maxFields. */
  'too_many_fields',
  /** More tags than EVENT_LIMITS.maxTags. */
  'too_many_tags',
  /** Stamped further ahead of the wall clock than `ingest.max_future_skew` (a live service only). */
  'time_in_future',
] as const;

export type InvalidReason = (typeof INVALID_REASONS)[number];

/**
 * Bounds on one event, whatever its transport. Each is far above what Falco writes, so only a
 * forged or broken event meets one; it is then refused with its reason, and the events around
 * it go on.
 */
export interface EventLimits {
  /** Bytes of one JSON line (a file, stdin); a longer line is skipped without being buffered. */
  readonly maxLineBytes: number;
  /** Containers nested in one event, the event itself counting one (Falco's deepest: event, output_fields, a list: 3). */
  readonly maxDepth: number;
  /**
   * Characters (UTF-16 code units) of any string in the event's envelope (rule, output,
   * hostname, source, time, uuid, ...), of each tag, and of each field's name, value and list
   * item. A command line of several KiB, rendered into `output` as well, is well within it.
   */
  readonly maxStringChars: number;
  /** Members of `output_fields` (Falco's feed rules forward about sixty). */
  readonly maxFields: number;
  /** Tags of one event (Falco's rules carry a handful). */
  readonly maxTags: number;
}

export const EVENT_LIMITS: EventLimits = Object.freeze({
  maxLineBytes: 1024 * 1024,
  maxDepth: 32,
  maxStringChars: 64 * 1024,
  maxFields: 1024,
  maxTags: 256,
});

export type Normalized =
  | { readonly ok: true; readonly event: FalcoEvent }
  | { readonly ok: false; readonly reason: InvalidReason; readonly detail: string };

function invalid(reason: InvalidReason, detail: string): Normalized & { ok: false } {
  return { ok: false, reason, detail };
}

/**
 * A sender's value as a short phrase for a refusal's detail. JSON.stringify is not safe here:
 * it recurses through a deep value and copies a long one whole.
 */
function shown(v: unknown): string {
  if (typeof v === 'string') return v.length > 64 ? `${JSON.stringify(v.slice(0, 64))}... (${v.length} characters)` : JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
}

function tooLong(what: string, text: string): Normalized & { ok: false } {
  return invalid('string_too_long', `${what} has ${text.length} characters, more than the limit of ${EVENT_LIMITS.maxStringChars}`);
}

/** Whether a container nests deeper than `limit` levels (itself one); a loop, not recursion. */
function deeperThan(root: JsonValue[] | { [key: string]: JsonValue }, limit: number): boolean {
  if (limit < 1) return true;
  const nodes: (JsonValue[] | { [key: string]: JsonValue })[] = [root];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (typeof v !== 'object' || v === null) continue;
        if (depth >= limit) return true;
        nodes.push(v);
        depths.push(depth + 1);
      }
    } else {
      for (const key in node) {
        const v = node[key];
        if (typeof v !== 'object' || v === null) continue;
        if (depth >= limit) return true;
        nodes.push(v);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

const INTEGER_TEXT = /^-?(?:0|[1-9]\d*)$/;

/** Number from integer text; a bigint when it is beyond 2^53. */
function integerFromText(text: string): number | bigint | undefined {
  if (!INTEGER_TEXT.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

/** A number JSON.parse may have rounded: every finite double beyond 2^53 is an integer. */
function beyondSafe(v: number): boolean {
  return (v > Number.MAX_SAFE_INTEGER || v < Number.MIN_SAFE_INTEGER) && v !== Infinity && v !== -Infinity;
}

/** Depth of a list inside output_fields: the event, output_fields, the list. */
const LIST_DEPTH = 3;

/**
 * Types Falco JSON field values where the transport left them as text (numbers Falco quoted,
 * "<NA>"), and lists as lists of text; returns why the event is refused if a value is an
 * object, or a field breaks a bound (EVENT_LIMITS). Numbers, booleans and null, the usual case,
 * are left untouched. `envelope` is the event the fields belong to, for where in the text their
 * exact integers are looked for.
 */
function typeFieldsInPlace(fields: { [key: string]: JsonValue }, exact: ExactIntegers | undefined, envelope: { [key: string]: JsonValue }): (Normalized & { ok: false }) | undefined {
  const { maxFields, maxStringChars } = EVENT_LIMITS;
  let located = false;
  let count = 0;
  for (const name in fields) {
    if (++count > maxFields) return invalid('too_many_fields', `"output_fields" has more than ${maxFields} members`);
    if (name.length > maxStringChars) return tooLong('a field name', name);
    const raw = fields[name]!;
    // Missing values are the commonest: feed rules forward every field they may need.
    if (raw === null) continue;
    if (typeof raw === 'number') {
      if (exact && beyondSafe(raw)) {
        if (!located) {
          exact.from = Math.max(exact.from, fieldsLowerBound(envelope));
          located = true;
        }
        fields[name] = exact.member(name, raw);
      }
    } else if (typeof raw === 'string') {
      if (raw.length > maxStringChars) return tooLong(`field ${shown(name)}`, raw);
      const typed = textFieldValue(name, raw);
      if (typed !== raw) fields[name] = typed as JsonValue;
    } else if (typeof raw === 'object') {
      if (!Array.isArray(raw)) return invalid('bad_output_fields', `field ${shown(name)} holds an object`);
      const list = listOfText(name, raw);
      if (!Array.isArray(list)) return list;
      fields[name] = list;
    } else if ((raw as unknown) === undefined) {
      // Only an in-process caller can hand over `undefined` (JSON text cannot): a missing value.
      // Last, so the values JSON does carry pay nothing for it.
      fields[name] = null;
    }
  }
  return undefined;
}

/** A list field as a list of text: Falco's lists are of strings; anything else is written as JSON. */
function listOfText(name: string, raw: JsonValue[]): string[] | (Normalized & { ok: false }) {
  const { maxDepth, maxStringChars } = EVENT_LIMITS;
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const item = raw[i]!;
    let text: string;
    if (typeof item === 'string') {
      text = item;
    } else if (typeof item === 'object' && item !== null) {
      if (deeperThan(item, maxDepth - LIST_DEPTH)) return invalid('too_deep', `field ${shown(name)} nests deeper than ${maxDepth} levels`);
      text = stringifyExact(item);
    } else {
      text = stringifyExact(item);
    }
    if (text.length > maxStringChars) return tooLong(`an item of field ${shown(name)}`, text);
    out[i] = text;
  }
  return out;
}

/**
 * The earliest position in the text at which `output_fields`'s members can start: each member
 * written before it takes at least its key and its value without escapes, quotes, colon and
 * comma included. Searching for a field's digits from there skips the envelope, the long
 * rendered `output` above all. Integer-like keys are enumerated out of text order, so they
 * count for nothing; any other surprise only makes the search start earlier.
 */
function fieldsLowerBound(envelope: { [key: string]: JsonValue }): number {
  let at = 1;
  for (const key in envelope) {
    if (key === 'output_fields') return at + key.length + 4;
    const c = key.charCodeAt(0);
    if (c >= 0x30 && c <= 0x39) continue;
    const v = envelope[key];
    at += key.length + 4 + (typeof v === 'string' ? v.length : Array.isArray(v) ? textListLength(v) : 0);
  }
  return 0;
}

/** The least length of a list's JSON text beyond two characters: its text items and commas. */
function textListLength(list: readonly JsonValue[]): number {
  let n = 0;
  for (const item of list) n += typeof item === 'string' ? item.length + 3 : 2;
  return n;
}

/** One field value from text (all of gRPC, and numbers Falco quoted in JSON). */
function textFieldValue(name: string, text: string): FieldValue {
  // Only text that could be Falco's "no value", a number or a boolean needs a second look:
  // most values are names and paths, and their first character sends them back at once.
  const c = text.charCodeAt(0);
  if (c === 0x3c /* < */ || c === 0x6e /* n */) return text === '<NA>' || text === 'null' ? null : text;
  if (!((c >= 0x30 && c <= 0x39) || c === 0x2d || text === 'true' || text === 'false')) return text;
  switch (fieldKind(name)) {
    case 'int':
      return integerFromText(text) ?? text;
    case 'bool':
      return text === 'true' ? true : text === 'false' ? false : text;
    default:
      return text;
  }
}

function isObject(v: unknown): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const NO_TAGS: readonly string[] = Object.freeze([]);

/** The event's tags (the list itself, which the event takes over like its fields), or why not. */
function tagsFrom(raw: JsonValue | readonly string[] | undefined | null): readonly string[] | (Normalized & { ok: false }) {
  if (raw === undefined || raw === null) return NO_TAGS;
  if (!Array.isArray(raw)) return invalid('bad_tags', '"tags" must be an array of strings');
  if (raw.length > EVENT_LIMITS.maxTags) return invalid('too_many_tags', `${raw.length} tags, more than the limit of ${EVENT_LIMITS.maxTags}`);
  for (let i = 0; i < raw.length; i++) {
    const tag: unknown = raw[i];
    if (typeof tag !== 'string') return invalid('bad_tags', '"tags" must be an array of strings');
    if (tag.length > EVENT_LIMITS.maxStringChars) return tooLong('a tag', tag);
  }
  return raw as readonly string[];
}

/**
 * Why the envelope breaks a bound, if it does: a string member too long (rule, output, hostname
 * and the rest, each bounded like a field value), or a member nested too deep (output_fields'
 * lists are measured as they are typed). One pass over the members serves both.
 */
function envelopeProblem(raw: { [key: string]: JsonValue }): (Normalized & { ok: false }) | undefined {
  for (const key in raw) {
    const v = raw[key];
    if (typeof v === 'string') {
      if (v.length > EVENT_LIMITS.maxStringChars) return tooLong(shown(key), v);
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    // output_fields' members are checked as they are typed, which walks them anyway.
    if (key === 'output_fields' && isObject(v)) continue;
    if (deeperThan(v, EVENT_LIMITS.maxDepth - 1)) return invalid('too_deep', `${shown(key)} nests deeper than ${EVENT_LIMITS.maxDepth} levels`);
  }
  return undefined;
}

/** Whether `evt.time`, when present, is an integer as Falco writes it (rules and outputs take it for one). */
function evtTimeProblem(v: unknown): (Normalized & { ok: false }) | undefined {
  if (v === undefined || typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) return undefined;
  return invalid('bad_field_type', `field "evt.time" must be an integer (nanoseconds), not ${shown(v)}`);
}

function timeRangeProblem(timeNs: bigint): (Normalized & { ok: false }) | undefined {
  if (isEventTimeNs(timeNs)) return undefined;
  return invalid('bad_time', `the event time ${formatRfc3339Ns(timeNs)} is outside 1970-01-01 to 9999-12-31`);
}

/**
 * Normalizes one event in Falco's JSON output format (file output, http_output, Falcosidekick).
 * Takes ownership of `raw`: its `output_fields` object becomes the event's fields, typed in
 * place, because copying sixty fields per event costs as much as parsing them (and its `tags`
 * list the event's tags). Given the text
 * `raw` was parsed from with plain JSON.parse, field integers beyond 2^53 (evt.time) are restored
 * exactly from it in the same pass. Every bound of EVENT_LIMITS but the line length is checked
 * here, without recursion, so any parsed value, however deep or long, is accepted or refused.
 */
export function normalizeFalcoJson(raw: JsonValue, transport: Transport, exact?: ExactIntegers): Normalized {
  if (!isObject(raw)) return invalid('not_an_object', 'an event must be a JSON object');
  const bounds = envelopeProblem(raw);
  if (bounds) return bounds;
  const { rule, priority, time, output_fields: outputFields } = raw;
  if (typeof rule !== 'string' || rule === '') return invalid('missing_rule', 'missing string key "rule"');
  if (priority === undefined) return invalid('missing_priority', 'missing key "priority"');
  const prio = typeof priority === 'string' ? parsePriority(priority) : undefined;
  if (!prio) return invalid('unknown_priority', `unknown priority ${shown(priority)}`);
  if (time === undefined) return invalid('missing_time', 'missing key "time"');
  const timeNs = typeof time === 'string' ? parseRfc3339Ns(time) : undefined;
  if (timeNs === undefined) return invalid('bad_time', `"time" is not an RFC 3339 time: ${shown(time)}`);
  const range = timeRangeProblem(timeNs);
  if (range) return range;
  if (outputFields === undefined) return invalid('missing_output_fields', 'missing key "output_fields"');
  if (!isObject(outputFields)) return invalid('bad_output_fields', '"output_fields" must be an object');
  // Checked before typing: JSON text that merely looks like an integer is not one.
  const evtTime = evtTimeProblem(outputFields['evt.time']);
  if (evtTime) return evtTime;
  const problem = typeFieldsInPlace(outputFields, exact, raw);
  if (problem) return problem;
  const fields = outputFields as Record<string, FieldValue>;
  const tags = tagsFrom(raw.tags);
  if (!isTagList(tags)) return tags;
  return {
    ok: true,
    event: buildEvent(timeNs, rule, prio, raw.source, raw.hostname, tags, fields, raw.output, transport, raw.uuid),
  };
}

function isTagList(v: readonly string[] | Normalized): v is readonly string[] {
  return Array.isArray(v);
}

/** What protobufjs decodes a `falco.outputs.response` into (field names as in the proto). */
export interface GrpcResponse {
  readonly time?: { readonly seconds?: number | string | bigint | { toString(): string } | null; readonly nanos?: number | null } | null;
  readonly priority?: number | null;
  readonly source_deprecated?: number | null;
  readonly rule?: string | null;
  readonly output?: string | null;
  readonly output_fields?: Readonly<Record<string, string>> | null;
  readonly hostname?: string | null;
  readonly tags?: readonly string[] | null;
  readonly source?: string | null;
}

const SOURCE_ENUM = ['syscall', 'k8s_audit', 'internal', 'plugin'] as const;

/** The time of a response in nanoseconds, or why it is not one: whole seconds and 0 to 999999999 nanos. */
function grpcTimeNs(t: NonNullable<GrpcResponse['time']>): bigint | (Normalized & { ok: false }) {
  const seconds = t.seconds;
  // protobufjs gives int64 as a number, a decimal string or a Long, by its options.
  const text = typeof seconds === 'number' ? (Number.isInteger(seconds) ? String(seconds) : '') : String(seconds);
  if (!INTEGER_TEXT.test(text)) return invalid('bad_time', `bad "time.seconds": ${shown(typeof seconds === 'number' ? seconds : text)}`);
  const nanos = t.nanos ?? 0;
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) return invalid('bad_time', `bad "time.nanos": ${shown(nanos)}`);
  const timeNs = nsFromSecondsNanos(BigInt(text), nanos);
  return timeRangeProblem(timeNs) ?? timeNs;
}

/** Normalizes one `falco.outputs.response` message, within the same bounds as a JSON event. */
export function normalizeGrpcResponse(msg: GrpcResponse): Normalized {
  const rule = msg.rule ?? '';
  if (rule === '') return invalid('missing_rule', 'response has an empty "rule"');
  for (const [what, text] of [['"rule"', rule], ['"output"', msg.output], ['"hostname"', msg.hostname], ['"source"', msg.source]] as const) {
    if (typeof text === 'string' && text.length > EVENT_LIMITS.maxStringChars) return tooLong(what, text);
  }
  const prio = priorityFromNumber(msg.priority ?? 0);
  if (!prio) return invalid('unknown_priority', `unknown priority ${String(msg.priority)}`);
  const t = msg.time;
  if (!t || t.seconds === undefined || t.seconds === null) return invalid('missing_time', 'response has no "time"');
  const timeNs = grpcTimeNs(t);
  if (typeof timeNs !== 'bigint') return timeNs;
  const fields = Object.create(null) as Record<string, FieldValue>;
  const problem = typeGrpcFields(msg.output_fields ?? {}, fields) ?? evtTimeProblem(fields['evt.time']);
  if (problem) return problem;
  const tags = tagsFrom(msg.tags);
  if (!isTagList(tags)) return tags;
  const source = msg.source || SOURCE_ENUM[msg.source_deprecated ?? 0] || 'syscall';
  return {
    ok: true,
    event: buildEvent(timeNs, rule, prio, source, msg.hostname ?? '', tags, fields, msg.output ?? '', 'grpc', undefined),
  };
}

/**
 * Types a response's fields from their text into `fields`, or says why the event is refused.
 * `fields` should have no prototype: its keys are the sender's, and one named `__proto__` must
 * be a field like any other.
 */
function typeGrpcFields(raw: Readonly<Record<string, string>>, fields: Record<string, FieldValue>): (Normalized & { ok: false }) | undefined {
  const { maxFields, maxStringChars } = EVENT_LIMITS;
  let count = 0;
  for (const name in raw) {
    if (++count > maxFields) return invalid('too_many_fields', `"output_fields" has more than ${maxFields} members`);
    if (name.length > maxStringChars) return tooLong('a field name', name);
    const text = raw[name]!;
    if (typeof text !== 'string') return invalid('bad_output_fields', `field ${shown(name)} is not text`);
    if (text.length > maxStringChars) return tooLong(`field ${shown(name)}`, text);
    fields[name] = textFieldValue(name, text);
  }
  return undefined;
}

function buildEvent(
  timeNs: bigint,
  rule: string,
  priority: Priority,
  source: JsonValue | undefined,
  hostname: JsonValue | undefined,
  tags: readonly string[],
  fields: Record<string, FieldValue>,
  output: JsonValue | undefined,
  transport: Transport,
  uuid: JsonValue | undefined,
): FalcoEvent {
  const event: FalcoEvent = {
    timeNs,
    rule,
    priority,
    // Falco before 0.31 wrote no "source"; everything it emitted then was syscall.
    source: typeof source === 'string' && source !== '' ? source : 'syscall',
    hostname: typeof hostname === 'string' ? hostname : '',
    tags,
    fields,
    output: typeof output === 'string' ? output : '',
    transport,
    feed: tags.includes(FEED_TAG),
  };
  // Set after the literal rather than spread into it: a spread costs a copy on every event.
  if (typeof uuid === 'string') (event as { uuid?: string }).uuid = uuid;
  return event;
}
