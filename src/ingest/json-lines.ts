/**
 * Falco JSON lines from a file or stdin: Falco's `file_output` with `json_output: true`,
 * captures rendered to JSON, replays. Blank lines are skipped; a bad line (malformed, out of
 * bounds, or longer than EVENT_LIMITS.maxLineBytes, which is skipped without being held in
 * memory) is reported with its line number and reading goes on.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { LannerError } from '../core/errors.js';
import { ExactIntegers, type JsonValue } from '../core/exact-json.js';
import type { Logger } from '../core/log.js';
import { EVENT_LIMITS, normalizeFalcoJson, type Normalized } from './normalize.js';
import { z } from 'zod';
import { defineSource, type EventSink, type Source } from './source.js';

export interface NumberedResult {
  readonly line: number;
  readonly result: Normalized;
}

/**
 * Normalizes one line of Falco JSON output. A line longer than EVENT_LIMITS.maxLineBytes is
 * refused unparsed (its length in characters, which is never more than its length in bytes).
 */
export function normalizeJsonLine(text: string): Normalized {
  if (text.length > EVENT_LIMITS.maxLineBytes) return lineTooLong(text.length);
  let value: JsonValue;
  try {
    // Plain JSON.parse: normalization restores exact big integers from `text` as it walks the fields.
    value = JSON.parse(text) as JsonValue;
  } catch (err) {
    return { ok: false, reason: 'bad_json', detail: (err as Error).message };
  }
  return normalizeFalcoJson(value, 'file', new ExactIntegers(text));
}

function lineTooLong(length: number): Normalized {
  return { ok: false, reason: 'line_too_long', detail: `a line of more than ${EVENT_LIMITS.maxLineBytes} bytes (${length} read) was skipped` };
}

/** One line as the reader found it: its text, or how long it was when it ran past the limit. */
type RawLine = { readonly text: string } | { readonly tooLong: number };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Splits a byte stream into lines, holding at most `maxBytes` of any one line: the rest of a
 * longer line is counted and dropped as it streams past, so a line with no end costs no memory.
 * A line ends at "\n"; a "\r" before it is dropped (CRLF files). Splitting bytes, not text, keeps
 * a character cut by a chunk boundary whole: "\n" never occurs inside a UTF-8 sequence.
 */
export async function* readLines(input: Readable, maxBytes: number): AsyncGenerator<RawLine> {
  let parts: Buffer[] = [];
  let held = 0;
  // Bytes of the current line, counted past the limit too.
  let length = 0;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    while (start <= bytes.length) {
      const end = bytes.indexOf(NEWLINE, start);
      const stop = end < 0 ? bytes.length : end;
      length += stop - start;
      if (length <= maxBytes) {
        if (stop > start) {
          parts.push(bytes.subarray(start, stop));
          held += stop - start;
        }
      } else if (held > 0) {
        parts = [];
        held = 0;
      }
      if (end < 0) break;
      yield length > maxBytes ? { tooLong: length } : { text: lineText(parts, held) };
      parts = [];
      held = 0;
      length = 0;
      start = end + 1;
    }
  }
  if (length > maxBytes) yield { tooLong: length };
  else if (held > 0) yield { text: lineText(parts, held) };
}

function lineText(parts: readonly Buffer[], held: number): string {
  const line = parts.length === 1 ? parts[0]! : Buffer.concat(parts as Buffer[], held);
  const end = line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? line.length - 1 : line.length;
  return line.toString('utf8', 0, end);
}

/**
 * Reads Falco JSON lines, yielding each non-blank line's normalized event or refusal; a line
 * over EVENT_LIMITS.maxLineBytes is refused as `line_too_long` without being held in memory.
 */
export async function* readJsonLines(input: Readable): AsyncGenerator<NumberedResult> {
  let line = 0;
  for await (const raw of readLines(input, EVENT_LIMITS.maxLineBytes)) {
    line++;
    if ('tooLong' in raw) {
      yield { line, result: lineTooLong(raw.tooLong) };
      continue;
    }
    if (raw.text.trim() === '') continue;
    yield { line, result: normalizeJsonLine(raw.text) };
  }
}

/** Opens a path for reading, "-" meaning stdin; an unreadable path is a LANNER_INPUT_READ error. */
export async function openInput(path: string): Promise<Readable> {
  if (path === '-') return process.stdin;
  const stream = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) => reject(new LannerError('LANNER_INPUT_READ', `cannot read ${path}: ${err.message}`)));
  });
  return stream;
}

/** A JSON-lines file (or stdin) as a source of the running service. */
export class JsonLinesSource implements Source {
  readonly name: string;
  private stream: Readable | undefined;
  private closed = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
  ) {
    this.name = `file:${path}`;
  }

  async start(sink: EventSink): Promise<void> {
    this.stream = await openInput(this.path);
    this.done = this.pump(this.stream, sink);
  }

  ready(): string | null {
    return null;
  }

  /** Resolves when the whole input has been read and queued. */
  finished(): Promise<void> {
    return this.done;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.stream && this.stream !== process.stdin) this.stream.destroy();
    await this.done.catch(() => undefined);
  }

  private async pump(stream: Readable, sink: EventSink): Promise<void> {
    let events = 0;
    try {
      for await (const { line, result } of readJsonLines(stream)) {
        if (this.closed) break;
        if (!result.ok) {
          sink.reject(result.reason, `${this.path}:${line}: ${result.detail}`, 'file');
          continue;
        }
        if (sink.full && sink.whenRoom) await sink.whenRoom();
        // Not queued: refused by the queue (stamped too far ahead), which counts it itself.
        if (sink.accept(result.event)) events++;
      }
      this.logger.info({ input: this.path, events }, 'input read to the end');
    } catch (err) {
      if (!this.closed) this.logger.error({ input: this.path, err: (err as Error).message }, 'reading input failed');
    }
  }
}

/** `ingest.files` in lanner.yaml: Falco's file output, captures, replays. */
export const jsonLinesDescriptor = defineSource({
  name: 'json-lines',
  path: ['ingest', 'files'],
  summary: "Reads Falco JSON lines from files or stdin (`-`): Falco's file_output, captures, replays; waits for room rather than shed",
  example: 'ingest:\n  files: [/var/log/falco/events.json]\n',
  options: z.array(z.string().min(1)).default([]).describe('Files of Falco JSON lines to read, `-` for stdin'),
  needs: { files: ['ingest.files'] },
  plan(files) {
    return { ok: true, sources: files.map((file) => ({ label: `JSON lines from ${file}`, create: (deps) => new JsonLinesSource(file, deps.logger) })) };
  },
});
