/**
 * Falco JSON lines from a file or stdin: Falco's `file_output` with `json_output: true`,
 * captures rendered to JSON, replays. Blank lines are skipped; a bad line is reported with its
 * line number and reading goes on.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { LannerError } from '../core/errors.js';
import { ExactIntegers, type JsonValue } from '../core/exact-json.js';
import type { Logger } from '../core/log.js';
import { normalizeFalcoJson, type Normalized } from './normalize.js';
import { z } from 'zod';
import { defineSource, type EventSink, type Source } from './source.js';

export interface NumberedResult {
  readonly line: number;
  readonly result: Normalized;
}

/** Normalizes one line of Falco JSON output. */
export function normalizeJsonLine(text: string): Normalized {
  let value: JsonValue;
  try {
    // Plain JSON.parse: normalization restores exact big integers from `text` as it walks the fields.
    value = JSON.parse(text) as JsonValue;
  } catch (err) {
    return { ok: false, reason: 'bad_json', detail: (err as Error).message };
  }
  return normalizeFalcoJson(value, 'file', new ExactIntegers(text));
}

/** Reads Falco JSON lines, yielding each non-blank line's normalized event or refusal. */
export async function* readJsonLines(input: Readable): AsyncGenerator<NumberedResult> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    yield { line, result: normalizeJsonLine(text) };
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
        sink.accept(result.event);
        events++;
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
