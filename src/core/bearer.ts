/**
 * Bearer-token checks for Lanner's HTTP endpoints (ingest, the action API). Both sides are
 * hashed first, so the constant-time comparison leaks neither the token's content nor its length.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A check of `Authorization` headers against `token`. */
export function bearerCheck(token: string): (header: string | undefined) => boolean {
  const expected = sha256(token);
  return (header) => {
    const m = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    return timingSafeEqual(sha256(m?.[1] ?? ''), expected) && m !== null;
  };
}
