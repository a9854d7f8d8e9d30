import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** Lanner's version from package.json, found from both src/ and the compiled dist/src/. */
export function version(): string {
  if (cached) return cached;
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lanner' && pkg.version) return (cached = pkg.version);
    } catch {
      // not at this level; try the next
    }
  }
  return (cached = 'dev');
}
