/**
 * The safe reader of configured files (core/read-file.ts) and the baseline state file that goes
 * through it: what is not a regular file is refused at once, naming it, never opened as a
 * file; a size limit holds one byte below, at and one above it, and while the file is read.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileReadError, readTextFile, readTextFileSync, type ReadLimits } from '../../src/core/read-file.js';
import { readBaselines, writeBaselines } from '../../src/detect/stateful/baseline-store.js';
import { assertBuilt } from '../support/cli.js';
import { lannerWithin, makeFifo, makeUnreadable, ODD_ENTRIES, RUNNING_AS_ROOT, tempDir } from './file-helpers.js';

const LIMITS: ReadLimits = { maxBytes: 1000, what: 'test file' };

/** The error a read gives, sync or async, and how long it took to give it. */
async function refusal(read: () => unknown): Promise<{ err: FileReadError; ms: number }> {
  const started = performance.now();
  try {
    await read();
  } catch (err) {
    expect(err).toBeInstanceOf(FileReadError);
    return { err: err as FileReadError, ms: performance.now() - started };
  }
  throw new Error('the read succeeded; a refusal was expected');
}

describe('readTextFile and readTextFileSync', () => {
  const dir = tempDir();

  for (const entry of ODD_ENTRIES) {
    it(`refuse ${entry.name} at once, naming it`, async () => {
      const path = join(dir, `${entry.slug}.txt`);
      entry.make(path);
      for (const read of [() => readTextFileSync(path, LIMITS), () => readTextFile(path, LIMITS)]) {
        const { err, ms } = await refusal(read);
        expect(err.code).toBe('LANNER_FILE_NOT_REGULAR');
        expect(err.path).toBe(path);
        expect(err.message).toContain(path);
        expect(err.message).toMatch(entry.kind);
        expect(ms).toBeLessThan(2_000);
      }
    });
  }

  it.skipIf(RUNNING_AS_ROOT)('refuse an unreadable file, naming it (skipped as root: root reads any file)', async () => {
    const path = join(dir, 'unreadable.txt');
    makeUnreadable(path);
    for (const read of [() => readTextFileSync(path, LIMITS), () => readTextFile(path, LIMITS)]) {
      const { err } = await refusal(read);
      expect(err.code).toBe('LANNER_FILE_UNREADABLE');
      expect(err.errno).toBe('EACCES');
      expect(err.message).toContain(path);
      expect(err.message).toContain('permission denied');
    }
  });

  it('say a missing file does not exist, with its system code for callers that allow it', async () => {
    const path = join(dir, 'missing.txt');
    for (const read of [() => readTextFileSync(path, LIMITS), () => readTextFile(path, LIMITS)]) {
      const { err } = await refusal(read);
      expect(err).toMatchObject({ code: 'LANNER_FILE_UNREADABLE', errno: 'ENOENT', path });
      expect(err.message).toBe(`test file ${path} does not exist`);
    }
  });

  it('read a file one byte below and at the limit, and refuse one a byte above, naming size and limit', async () => {
    for (const size of [LIMITS.maxBytes - 1, LIMITS.maxBytes]) {
      const path = join(dir, `size-${size}.txt`);
      writeFileSync(path, 'y'.repeat(size));
      expect(readTextFileSync(path, LIMITS)).toHaveLength(size);
      expect(await readTextFile(path, LIMITS)).toHaveLength(size);
    }
    const path = join(dir, 'size-over.txt');
    writeFileSync(path, 'y'.repeat(LIMITS.maxBytes + 1));
    for (const read of [() => readTextFileSync(path, LIMITS), () => readTextFile(path, LIMITS)]) {
      const { err } = await refusal(read);
      expect(err.code).toBe('LANNER_FILE_TOO_LARGE');
      expect(err.message).toBe(`test file ${path} is 1001 bytes, over the limit of 1000 bytes (1000 bytes) for a test file: refusing to read it`);
    }
  });

  // A /proc file says it is empty and is not: only the limit kept while reading stops it.
  it.skipIf(!existsSync('/proc/self/status'))('keep the limit while reading, for a file larger than its size said', async () => {
    const small: ReadLimits = { maxBytes: 16, what: 'proc file' };
    for (const read of [() => readTextFileSync('/proc/self/status', small), () => readTextFile('/proc/self/status', small)]) {
      const { err } = await refusal(read);
      expect(err.code).toBe('LANNER_FILE_TOO_LARGE');
      expect(err.message).toContain('grew past 16 bytes while it was read');
    }
    expect(readTextFileSync('/proc/self/status', { maxBytes: 1 << 20, what: 'proc file' })).toMatch(/^Name:/);
  });

  it('give back what a regular file holds, whatever it holds, up to the limit (property)', async () => {
    const path = join(dir, 'property.txt');
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 300 }), async (text) => {
        writeFileSync(path, text);
        const bytes = Buffer.byteLength(text);
        if (bytes > LIMITS.maxBytes) {
          expect(() => readTextFileSync(path, LIMITS)).toThrow(FileReadError);
          return;
        }
        expect(readTextFileSync(path, LIMITS)).toBe(text);
        expect(await readTextFile(path, LIMITS)).toBe(text);
      }),
      { numRuns: 100 },
    );
  });
});

describe('the baseline state file', () => {
  const dir = tempDir('lanner-file-state-');
  const profiles = new Map([['r', [{ workload: 'w', firstMs: 0, lastMs: 1, values: ['a'] }]]]);

  it('is refused when it is a FIFO, at once and naming it', async () => {
    const path = join(dir, 'fifo.json');
    makeFifo(path);
    const { err, ms } = await refusal(() => readBaselines(path));
    expect(err.code).toBe('LANNER_FILE_NOT_REGULAR');
    expect(err.message).toContain(`state file ${path} is a FIFO`);
    expect(ms).toBeLessThan(2_000);
  });

  it('missing is an empty state', () => {
    expect(readBaselines(join(dir, 'none.json')).size).toBe(0);
  });

  it('is read one byte below and at its limit, and refused one above', async () => {
    const path = join(dir, 'state.json');
    writeBaselines(path, profiles, new Date(0));
    const size = readFileSync(path).length;
    expect(readBaselines(path, size + 1).get('r')).toHaveLength(1);
    expect(readBaselines(path, size).get('r')).toHaveLength(1);
    const { err } = await refusal(() => readBaselines(path, size - 1));
    expect(err.code).toBe('LANNER_FILE_TOO_LARGE');
  });

  it('is not written over its limit: the file keeps its last state', () => {
    const path = join(dir, 'kept.json');
    writeBaselines(path, profiles, new Date(0));
    const before = readFileSync(path, 'utf8');
    const bigger = new Map([['r', [{ workload: 'w', firstMs: 0, lastMs: 1, values: ['a', 'b'.repeat(100)] }]]]);
    expect(() => writeBaselines(path, bigger, new Date(0), before.length + 10)).toThrow(/over the limit .* not saved, the file keeps its last state/);
    expect(readFileSync(path, 'utf8')).toBe(before);
    writeBaselines(path, bigger, new Date(0), before.length + 200);
    expect(readBaselines(path).get('r')![0]!.values).toHaveLength(2);
  });
});

describe('lanner baseline on an odd state file', () => {
  beforeAll(assertBuilt);

  for (const entry of ODD_ENTRIES) {
    it(`refuses ${entry.name} at once, naming it, exit 1`, async () => {
      const path = join(tempDir('lanner-file-baseline-'), 'state.json');
      entry.make(path);
      const r = await lannerWithin(['baseline', 'show', '--state', path]);
      expect(r.killed, 'lanner baseline hung').toBe(false);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('LANNER_FILE_NOT_REGULAR');
      expect(r.stderr).toContain(path);
      expect(r.stderr).toMatch(entry.kind);
    });
  }
});
