/**
 * Turns what a transport delivered into a FalcoEvent, or into a named reason it could not.
 * Never throws: a malformed event is data about the sender, not a fault of ours.
 */
import { FEED_TAG, type FalcoEvent, type FieldValue, type Priority, type Transport } from '../core/event.js';
import { stringifyExact, type ExactIntegers, type JsonValue } from '../core/exact-json.js';
import { parsePriority, priorityFromNumber } from '../core/priority.js';
import { nsFromSecondsNanos, parseRfc3339Ns } from '../core/time.js';
import { fieldKind } from './field-types.js';

/** Why an event was refused; the label value of `lanner_events_invalid_total{reason}`. */
export type InvalidReason =
  | 'bad_json'
  | 'not_an_object'
  | 'missing_rule'
  | 'missing_priority'
  | 'unknown_priority'
  | 'missing_time'
  | 'bad_time'
  | 'missing_output_fields'
  | 'bad_output_fields'
  | 'bad_tags';

export type Normalized =
  | { readonly ok: true; readonly event: FalcoEvent }
  | { readonly ok: false; readonly reason: InvalidReason; readonly detail: string };

function invalid(reason: InvalidReason, detail: string): Normalized {
  return { ok: false, reason, detail };
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

/**
 * Types Falco JSON field values where the transport left them as text (numbers Falco quoted,
 * "<NA>"), and lists as lists of text; returns what is wrong if a value is an object.
 * Numbers, booleans and null, the usual case, are left untouched. `envelope` is the event the
 * fields belong to, for where in the text their exact integers are looked for.
 */
function typeFieldsInPlace(fields: { [key: string]: JsonValue }, exact: ExactIntegers | undefined, envelope: { [key: string]: JsonValue }): string | undefined {
  let located = false;
  for (const name in fields) {
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
      const typed = textFieldValue(name, raw);
      if (typed !== raw) fields[name] = typed as JsonValue;
    } else if (typeof raw === 'object') {
      if (!Array.isArray(raw)) return `field ${JSON.stringify(name)} holds an object`;
      fields[name] = raw.map((item) => (typeof item === 'string' ? item : stringifyExact(item)));
    }
  }
  return undefined;
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

/** The event's tags: the parsed list itself, which the event takes over like its fields. */
function tagsFrom(raw: JsonValue | undefined): readonly string[] | undefined {
  if (raw === undefined || raw === null) return NO_TAGS;
  if (!Array.isArray(raw)) return undefined;
  for (let i = 0; i < raw.length; i++) if (typeof raw[i] !== 'string') return undefined;
  return raw as string[];
}

/**
 * Normalizes one event in Falco's JSON output format (file output, http_output, Falcosidekick).
 * Takes ownership of `raw`: its `output_fields` object becomes the event's fields, typed in
 * place, because copying sixty fields per event costs as much as parsing them (and its `tags`
 * list the event's tags). Given the text
 * `raw` was parsed from with plain JSON.parse, field integers beyond 2^53 (evt.time) are restored
 * exactly from it in the same pass.
 */
export function normalizeFalcoJson(raw: JsonValue, transport: Transport, exact?: ExactIntegers): Normalized {
  if (!isObject(raw)) return invalid('not_an_object', 'an event must be a JSON object');
  const { rule, priority, time, output_fields: outputFields } = raw;
  if (typeof rule !== 'string' || rule === '') return invalid('missing_rule', 'missing string key "rule"');
  if (priority === undefined) return invalid('missing_priority', 'missing key "priority"');
  const prio = typeof priority === 'string' ? parsePriority(priority) : undefined;
  if (!prio) return invalid('unknown_priority', `unknown priority ${JSON.stringify(priority)}`);
  if (time === undefined) return invalid('missing_time', 'missing key "time"');
  const timeNs = typeof time === 'string' ? parseRfc3339Ns(time) : undefined;
  if (timeNs === undefined) return invalid('bad_time', `"time" is not an RFC 3339 time: ${JSON.stringify(time)}`);
  if (outputFields === undefined) return invalid('missing_output_fields', 'missing key "output_fields"');
  if (!isObject(outputFields)) return invalid('bad_output_fields', '"output_fields" must be an object');
  const problem = typeFieldsInPlace(outputFields, exact, raw);
  if (problem) return invalid('bad_output_fields', problem);
  const fields = outputFields as Record<string, FieldValue>;
  const tags = tagsFrom(raw.tags);
  if (!tags) return invalid('bad_tags', '"tags" must be an array of strings');
  return {
    ok: true,
    event: buildEvent(timeNs, rule, prio, raw.source, raw.hostname, tags, fields, raw.output, transport, raw.uuid),
  };
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

/** Normalizes one `falco.outputs.response` message. */
export function normalizeGrpcResponse(msg: GrpcResponse): Normalized {
  const rule = msg.rule ?? '';
  if (rule === '') return invalid('missing_rule', 'response has an empty "rule"');
  const prio = priorityFromNumber(msg.priority ?? 0);
  if (!prio) return invalid('unknown_priority', `unknown priority ${String(msg.priority)}`);
  const t = msg.time;
  if (!t || t.seconds === undefined || t.seconds === null) return invalid('missing_time', 'response has no "time"');
  let timeNs: bigint;
  try {
    timeNs = nsFromSecondsNanos(BigInt(String(t.seconds)), t.nanos ?? 0);
  } catch {
    return invalid('bad_time', `bad "time.seconds": ${String(t.seconds)}`);
  }
  const fields: Record<string, FieldValue> = {};
  const raw = msg.output_fields ?? {};
  for (const name in raw) fields[name] = textFieldValue(name, raw[name]!);
  const source = msg.source || SOURCE_ENUM[msg.source_deprecated ?? 0] || 'syscall';
  return {
    ok: true,
    event: buildEvent(timeNs, rule, prio, source, msg.hostname ?? '', msg.tags ?? [], fields, msg.output ?? '', 'grpc', undefined),
  };
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
