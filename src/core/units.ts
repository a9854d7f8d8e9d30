/** Durations and sizes as people write them in YAML ("500ms", "5s", "1MiB"). */
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds from "250ms", "5s", "2m", "1h" or a plain number of milliseconds. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DURATION.exec(value.trim());
  return m ? Number(m[1]) * DURATION_MS[m[2]!]! : undefined;
}

const SIZE = /^(\d+)(B|KiB|MiB|GiB|KB|MB|GB)?$/;
const SIZE_BYTES: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
};

/** Bytes from "512KiB", "1MiB", "2MB" or a plain number of bytes. */
export function parseSizeBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = SIZE.exec(value.trim());
  return m ? Number(m[1]) * SIZE_BYTES[m[2] ?? 'B']! : undefined;
}

/** A config value that must be a duration above zero, validated to milliseconds. */
export const positiveDurationMs = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a positive duration such as 500ms, 5s, 2m or 1h' });
    return z.NEVER;
  }
  return ms;
});
