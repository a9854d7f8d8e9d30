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
export const positiveDurationMs = z.union([z.number(), z.string()]).meta({ format: 'duration' }).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a positive duration such as 500ms, 5s, 2m or 1h' });
    return z.NEVER;
  }
  return ms;
});

/** A number or text a person writes for a duration or a size, tagged for the reference. */
const withUnit = (format: 'duration' | 'size') => z.union([z.number(), z.string()]).meta({ format });

function toMs(v: number | string, ctx: z.core.$RefinementCtx): number {
  const ms = parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 5s, 2m or 1h' });
    return z.NEVER;
  }
  return ms;
}

function toBytes(v: number | string, ctx: z.core.$RefinementCtx): number {
  const bytes = parseSizeBytes(v);
  if (bytes === undefined || bytes === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a size such as 1048576, 512KiB or 1MiB' });
    return z.NEVER;
  }
  return bytes;
}

/** A config duration in milliseconds, "500ms", "5s", "2m", "1h" or a number of ms, with no default. */
export const anyDurationMs = withUnit('duration').transform(toMs);

/**
 * A config duration in milliseconds; `fallback` is the default as a person writes it, so the
 * reference shows its unit.
 */
export const durationMs = (fallback: string) => withUnit('duration').default(fallback).transform(toMs);

/** A config size in bytes above zero, written "512KiB", "1MiB" or as a number of bytes. */
export const sizeBytes = (fallback: string) => withUnit('size').default(fallback).transform(toBytes);

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/;

/** True for HOST:PORT with a port in range ("[::1]:9376" for IPv6). */
export function isHostPort(value: string): boolean {
  const m = HOST_PORT.exec(value);
  return m !== null && Number(m[2]) <= 65535;
}

/** An address to listen on, HOST:PORT, or empty for off. */
export const listenAddress = z.string().refine((v) => v === '' || isHostPort(v), {
  message: 'expected HOST:PORT such as 127.0.0.1:9376, or empty to turn it off',
});
