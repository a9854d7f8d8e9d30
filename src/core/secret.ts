/** Secrets given inline or in a file (a mounted Kubernetes Secret); the file is read once, at start. */
import { LannerError } from './errors.js';
import { readTextFileSync } from './read-file.js';

/** A token or secret is a line; a file much larger than that is not the one meant. */
const SECRET_FILE_MAX_BYTES = 64 * 1024;

/**
 * The secret given inline, else read from its file (named by `fileKey` in errors), else empty
 * when neither is set. A file that is unreadable, or holds nothing but blanks, stops the start:
 * a token file emptied by a broken Secret mount must never turn authentication off.
 */
export function readSecret(inline: string, file: string, fileKey: string): string {
  if (inline !== '') return inline;
  if (file === '') return '';
  let text: string;
  try {
    // Only a regular file within the limit: a FIFO named as the token file would hang the start.
    text = readTextFileSync(file, { maxBytes: SECRET_FILE_MAX_BYTES, what: 'secret file' });
  } catch (err) {
    throw new LannerError('LANNER_CONFIG_INVALID', `${fileKey}: cannot read ${file}: ${(err as Error).message}`);
  }
  const secret = text.trim();
  if (secret === '') throw new LannerError('LANNER_CONFIG_INVALID', `${fileKey}: ${file} is empty: refusing to run without the secret it should hold`);
  return secret;
}
