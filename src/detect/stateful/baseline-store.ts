/**
 * The state file where learned baseline profiles survive restarts. Written atomically (a
 * temporary file renamed over the old one) so a crash mid-write never leaves half a file.
 */
import { closeSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatBytes, readTextFileSync, type ReadLimits } from '../../core/read-file.js';
import type { ProfileSnapshot } from './baseline.js';

export const STATE_FILE_VERSION = 1;

export interface BaselineStateFile {
  readonly version: number;
  readonly saved_at: string;
  /** Profiles by rule name. */
  readonly rules: Readonly<Record<string, readonly ProfileSnapshot[]>>;
}

export type Profiles = ReadonlyMap<string, readonly ProfileSnapshot[]>;

/**
 * The largest state file read or written, in bytes. Profiles are bounded (max_keys workloads
 * of max_values values per baseline rule), but not small: the limit is there so that a state
 * path naming something else (a device, a runaway file) cannot take the memory.
 */
export const STATE_FILE_MAX_BYTES = 256 * 1024 * 1024;
const STATE_FILE_LIMITS: ReadLimits = { maxBytes: STATE_FILE_MAX_BYTES, what: 'state file' };

/**
 * Reads the state file; a missing file is an empty state. One that is not a regular file, too
 * large or unreadable is a FileReadError, a corrupt one an error; each names the file.
 */
export function readBaselines(file: string, maxBytes = STATE_FILE_MAX_BYTES): Profiles {
  let text: string;
  try {
    text = readTextFileSync(file, { ...STATE_FILE_LIMITS, maxBytes });
  } catch (err) {
    if ((err as { errno?: string }).errno === 'ENOENT') return new Map();
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`baseline state ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isStateFile(parsed)) throw new Error(`baseline state ${file} is not a version ${STATE_FILE_VERSION} Lanner state file`);
  return new Map(Object.entries(parsed.rules));
}

/**
 * Writes the state file. A state larger than the limit is not written, so the file on disk
 * stays one that can be read back: the error says so.
 */
export function writeBaselines(file: string, profiles: Profiles, now: Date = new Date(), maxBytes = STATE_FILE_MAX_BYTES): void {
  const state: BaselineStateFile = { version: STATE_FILE_VERSION, saved_at: now.toISOString(), rules: Object.fromEntries(profiles) };
  const data = Buffer.from(JSON.stringify(state));
  if (data.length > maxBytes) {
    throw new Error(`baseline state for ${file} would be ${data.length} bytes, over the limit of ${formatBytes(maxBytes)} for a state file: not saved, the file keeps its last state`);
  }
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, data);
  renameSync(temporary, file);
}

/** A lock older than this was left by a process that died holding it. */
const STALE_LOCK_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

/**
 * Runs `fn` holding the state file's lock, a `.lock` file beside it created exclusively, so the
 * service's save and `lanner baseline reset` never interleave their reads and writes. A lock
 * left by a crash is taken over once it is STALE_LOCK_MS old.
 */
export function withStateLock<T>(file: string, fn: () => T, waitMs = LOCK_WAIT_MS): T {
  const lock = `${file}.lock`;
  mkdirSync(dirname(file), { recursive: true });
  const waitUntil = Date.now() + waitMs;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    try {
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) unlinkSync(lock);
    } catch {
      // gone meanwhile: try again
    }
    if (Date.now() > waitUntil) throw new Error(`baseline state ${file} is locked (${lock}); remove the lock if no Lanner is saving`);
    // Saves and resets hold the lock for milliseconds: a short synchronous wait is enough.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // already taken over as stale; nothing to release
    }
  }
}

function isStateFile(v: unknown): v is BaselineStateFile {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  if (s['version'] !== STATE_FILE_VERSION || typeof s['rules'] !== 'object' || s['rules'] === null) return false;
  return Object.values(s['rules'] as Record<string, unknown>).every(
    (profiles) =>
      Array.isArray(profiles) &&
      profiles.every(
        (p: unknown) =>
          typeof p === 'object' &&
          p !== null &&
          typeof (p as ProfileSnapshot).workload === 'string' &&
          typeof (p as ProfileSnapshot).firstMs === 'number' &&
          typeof (p as ProfileSnapshot).lastMs === 'number' &&
          Array.isArray((p as ProfileSnapshot).values),
      ),
  );
}
