/**
 * The JSON-lines reader against files an attacker shaped: a line with no end, lines at the length
 * limit, a line nested 12,000 deep. Each bad line is refused with its reason and counted by line
 * number; reading goes on, and the good line after it arrives.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringifyExact } from '../../src/core/exact-json.js';
import { silentLogger } from '../../src/core/log.js';
import { JsonLinesSource, readJsonLines, readLines } from '../../src/ingest/json-lines.js';
import { EVENT_LIMITS } from '../../src/ingest/normalize.js';
import { falcoJson } from '../support/events.js';
import { RecordingSink } from '../support/recording-sink.js';

const { maxLineBytes } = EVENT_LIMITS;
const GOOD = stringifyExact(falcoJson({ rule: 'the good line' }));

/**
 * GOOD padded to exactly `bytes` bytes of UTF-8 with a list of strings of `filler` (each within
 * the string limit, so only the line's length is at stake), topped up with spaces.
 */
function paddedTo(bytes: number, filler = ' '): string {
  const prefix = `${GOOD.slice(0, -1)},"pad":["`;
  const fillBytes = Buffer.byteLength(filler);
  const perString = 60_000;
  let room = bytes - Buffer.byteLength(prefix) - '"]}'.length;
  const parts: string[] = [];
  while (room >= fillBytes + 3) {
    const n = Math.min(perString, Math.floor((room - 3) / fillBytes));
    parts.push(filler.repeat(n));
    room -= n * fillBytes + 3;
  }
  // Each part but the first costs its '","' separator, counted above; the first one's is spare.
  return `${prefix}${parts.join('","')}"${' '.repeat(room + 3)}]}`;
}

/** A stream of `text` cut into chunks of `size` bytes (cutting through UTF-8 sequences). */
function chunked(text: string, size: number): Readable {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

async function results(input: Readable): Promise<{ line: number; reason: string; rule?: string }[]> {
  const out: { line: number; reason: string; rule?: string }[] = [];
  for await (const { line, result } of readJsonLines(input)) out.push(result.ok ? { line, reason: 'ok', rule: result.event.rule } : { line, reason: result.reason });
  return out;
}

describe('JSON lines at the length limit', () => {
  it('takes lines of up to maxLineBytes bytes and refuses one byte more, whatever the chunking', async () => {
    for (const filler of [' ', 'é', '日']) {
      const lines = [paddedTo(maxLineBytes - 1, filler), paddedTo(maxLineBytes, filler), paddedTo(maxLineBytes + 1, filler), GOOD];
      expect(lines.slice(0, 3).map((l) => Buffer.byteLength(l))).toEqual([maxLineBytes - 1, maxLineBytes, maxLineBytes + 1]);
      for (const size of [4093, 65_537, 1_000_003]) {
        const got = await results(chunked(lines.join('\n') + '\n', size));
        expect(got.map((r) => r.reason), `${filler} in chunks of ${size}`).toEqual(['ok', 'ok', 'line_too_long', 'ok']);
        expect(got.map((r) => r.line)).toEqual([1, 2, 3, 4]);
      }
    }
  });

  it('counts a line longer than any string V8 can hold and reads the next one, holding none of it', async () => {
    const block = Buffer.alloc(1024 * 1024, 'x');
    // 600 MiB: past V8's longest string (about 512 MiB), which a reader that buffers lines would need.
    async function* endless(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 600; i++) yield block;
      yield Buffer.from(`\n${GOOD}\n`);
    }
    const before = process.memoryUsage().arrayBuffers;
    const got = await results(Readable.from(endless()));
    expect(got).toEqual([
      { line: 1, reason: 'line_too_long' },
      { line: 2, reason: 'ok', rule: 'the good line' },
    ]);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);

  it('refuses an endless last line without a line end', async () => {
    expect(await results(chunked(`${GOOD}\n${'x'.repeat(maxLineBytes + 1)}`, 65_536))).toEqual([
      { line: 1, reason: 'ok', rule: 'the good line' },
      { line: 2, reason: 'line_too_long' },
    ]);
  });

  it('splits like text split on newlines, under any chunking, CRLF and blank lines included', async () => {
    const piece = fc.oneof(fc.constantFrom('\n', '\r\n', '\r', 'é', '日', '😀', ' '), fc.string({ maxLength: 8 }));
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 1, max: 9 }), async (pieces, size) => {
        const text = pieces.join('');
        const lines: string[] = [];
        for await (const l of readLines(chunked(text, size), maxLineBytes)) lines.push('text' in l ? l.text : '<too long>');
        // A last line with no end is still a line, unless it has no bytes at all.
        const expected = text.split('\n');
        if (expected[expected.length - 1] === '') expected.pop();
        expect(lines).toEqual(expected.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('a JSON-lines source fed hostile lines', () => {
  it('refuses a line nested 12,000 deep, counts it, and delivers the good line after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanner-event-lines-'));
    const file = join(dir, 'events.jsonl');
    const base = GOOD.slice(0, -1);
    const deep = [
      `${base},"extra":${'['.repeat(12_000)}${']'.repeat(12_000)}}`,
      `${base},"output_fields":{"evt.time":1,"l":[${'['.repeat(12_000)}${']'.repeat(12_000)}]}}`,
      `${'{"a":'.repeat(12_000)}1${'}'.repeat(12_000)}`,
      `${'['.repeat(12_000)}${']'.repeat(12_000)}`,
    ];
    writeFileSync(file, [...deep, 'x'.repeat(maxLineBytes + 1), GOOD].join('\n') + '\n');
    const source = new JsonLinesSource(file, silentLogger());
    const sink = new RecordingSink();
    await source.start(sink);
    await source.finished();
    await source.close();
    expect(sink.rejects.map((r) => r.reason)).toEqual(['too_deep', 'too_deep', 'too_deep', 'not_an_object', 'line_too_long']);
    expect(sink.rejects.map((r) => r.detail.slice(file.length, file.length + 3))).toEqual([':1:', ':2:', ':3:', ':4:', ':5:']);
    expect(sink.events.map((e) => e.rule)).toEqual(['the good line']);
  });
});
