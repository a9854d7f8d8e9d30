/** Secrets given inline or in a file (a mounted Kubernetes Secret); the file is read once, at start. */
import { readFileSync } from 'node:fs';
import { LannerError } from './errors.js';

/**
 * The secret given inline, else read from its file (named by `fileKey` in errors), else empty.
 * An unreadable file stops the start: running open because a token went missing is never right.
 */
export function readSecret(inline: string, file: string, fileKey: string): string {
  if (inline !== '') return inline;
  if (file === '') return '';
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new LannerError('LANNER_CONFIG_INVALID', `${fileKey}: cannot read ${file}: ${(err as Error).message}`);
  }
}
