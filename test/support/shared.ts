/**
 * Access to the real Falco material in ../shared beside the checkout. A user's clone has no
 * ../shared, so tests that read it skip, saying why. It is data, not a program the tests need,
 * so its absence is a skip under CI too.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DIR = resolve(REPO_ROOT, '../shared');
export const HAVE_SHARED = existsSync(join(SHARED_DIR, 'falco-samples'));

if (!HAVE_SHARED) {
  const message = `../shared/falco-samples not found beside the checkout (${SHARED_DIR}): tests on real Falco output are skipped`;
  console.warn(`\n*** ${message} ***\n`);
}

/** Non-blank lines of ../shared/falco-samples/alerts.jsonl. */
export function sampleAlertLines(): string[] {
  return readLines(join(SHARED_DIR, 'falco-samples', 'alerts.jsonl'));
}

/** Each trace file of ../shared/falco-samples/traces with its non-blank lines. */
export function sampleTraces(): { name: string; lines: string[] }[] {
  const dir = join(SHARED_DIR, 'falco-samples', 'traces');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((name) => ({ name, lines: readLines(join(dir, name)) }));
}

function readLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** The digits of an integer-valued JSON key exactly as written in the raw text. */
export function rawIntegerOf(line: string, key: string): string | undefined {
  const m = new RegExp(`"${key.replace(/[.[\]]/g, '\\$&')}"\\s*:\\s*(-?\\d+)`).exec(line);
  return m?.[1];
}
