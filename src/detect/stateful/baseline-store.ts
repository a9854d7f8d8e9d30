/**
 * The state file where learned baseline profiles survive restarts. Written atomically (a
 * temporary file renamed over the old one) so a crash mid-write never leaves half a file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ProfileSnapshot } from './baseline.js';

export const STATE_FILE_VERSION = 1;

export interface BaselineStateFile {
  readonly version: number;
  readonly saved_at: string;
  /** Profiles by rule name. */
  readonly rules: Readonly<Record<string, readonly ProfileSnapshot[]>>;
}

export type Profiles = ReadonlyMap<string, readonly ProfileSnapshot[]>;

/** Reads the state file; a missing file is an empty state, a corrupt one an error naming it. */
export function readBaselines(file: string): Profiles {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new Error(`cannot read baseline state ${file}: ${(err as Error).message}`);
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

export function writeBaselines(file: string, profiles: Profiles, now: Date = new Date()): void {
  const state: BaselineStateFile = { version: STATE_FILE_VERSION, saved_at: now.toISOString(), rules: Object.fromEntries(profiles) };
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state));
  renameSync(temporary, file);
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
