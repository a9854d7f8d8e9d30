/**
 * Every string in an alert is attacker-chosen (Falco copies command lines, file names and, for
 * forged events, rule names into it). Each format writes it for a reader that interprets some
 * characters: a terminal acts on control sequences, a syslog collector or a CEF parser splits
 * records on line breaks, a JavaScript or Java reader treats U+2028/U+2029 as line ends, and a
 * person reading a log can be misled by bidirectional overrides. This module is the one place
 * that knows those characters; each format picks the treatment its reader needs.
 */
import { stringifyExact } from '../../core/exact-json.js';

/**
 * A line break to some reader: CR LF as one, then LF, VT, FF, CR, NEL (U+0085), LINE SEPARATOR
 * (U+2028), PARAGRAPH SEPARATOR (U+2029): Unicode's mandatory breaks (UAX #14 BK, CR, LF, NL).
 */
const LINE_BREAK = /\r\n|[\n\v\f\r\x85\u2028\u2029]/g;

/**
 * What remains dangerous once line breaks are dealt with: C0 controls but tab (ESC starts a
 * terminal sequence, NUL ends a C string, BEL and BS act on a terminal), DEL, C1 controls (U+009B
 * is an 8-bit CSI), and lone surrogates (not text: UTF-8 cannot carry them).
 */
const OTHER_CONTROL = /[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]|[\ud800-\udfff]/gu;

/** Stands in for a character that has no safe spelling in the target format. */
const REPLACEMENT = '\ufffd';

/**
 * Text that stays on one line for any reader and carries no control character: each line break
 * (CR LF counting as one) becomes `lineBreak` (or what it returns for that break), every other
 * control character and lone surrogate U+FFFD. Tab is kept: it is whitespace to every reader
 * and controls nothing.
 */
export function oneLine(text: string, lineBreak: string | ((lineBreak: string) => string) = ' '): string {
  const replace = typeof lineBreak === 'string' ? () => lineBreak : lineBreak;
  return text.replace(LINE_BREAK, replace).replace(OTHER_CONTROL, REPLACEMENT);
}

// Every control, line break, bidirectional formatting character (which reorders what a person
// reads, CVE-2021-42574) and lone surrogate, for a terminal.
const TERMINAL_UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/gu;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function hexEscape(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * Text a terminal shows and never acts on: every control character (ESC, BEL, BS, CR, LF, NUL,
 * C1), line and paragraph separators, bidirectional overrides and lone surrogates are written
 * visibly as `\n`, `\r`, `\t`, `\xHH` or `\uHHHH`, so an escape sequence or a forged second line
 * is shown as the text it is.
 */
export function terminalText(text: string): string {
  return text.replace(TERMINAL_UNSAFE, hexEscape);
}

// Characters JSON.stringify leaves raw that readers of a JSON line may act on: DEL and C1 (a
// terminal showing the line), U+2028/U+2029 (line ends to JavaScript and Java readers) and bidi
// controls (a person reading it). Raw, they can only be inside a JSON string, where a \u escape
// means the same character: the parsed value is unchanged.
const JSON_UNSAFE = /[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text as `stringifyExact` writes it (bigints exact), with every character a reader of the
 * line could act on escaped: control characters and lone surrogates by JSON.stringify itself,
 * DEL, C1, U+2028/U+2029 and bidi controls here. Always one line, always valid JSON.
 */
export function jsonLine(value: unknown): string {
  return escapeJsonText(stringifyExact(value));
}

/** The escaping of `jsonLine`, for JSON text already serialized. */
export function escapeJsonText(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The longest prefix of `text` whose UTF-8 encoding fits in `maxBytes`, never splitting a
 * character (a surrogate pair stays whole). Lone surrogates count as U+FFFD, as UTF-8 writes them.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length <= maxBytes / 3 || Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  if (maxBytes <= 0) return '';
  const bytes = Buffer.from(text, 'utf8');
  let end = maxBytes;
  // A continuation byte (10xxxxxx) at the cut means the character it belongs to would be split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
