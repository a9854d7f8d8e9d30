/**
 * Falco's `glob` is fnmatch(3) without FNM_PATHNAME: `*` and `?` match any character including
 * `/`, `[...]` is a bracket expression (`!` or `^` negates, ranges, POSIX classes), and a
 * backslash makes the next character literal. A literal pattern compiles to a RegExp once; the
 * matcher below serves patterns that only exist per event (`glob val(field)`).
 */

import { POSIX_CLASSES } from './posix-classes.js';

function escapeForClass(ch: string): string {
  return /[\\\]^-]/.test(ch) ? `\\${ch}` : ch;
}

/** A bracket expression starting at `pattern[start] === '['`: its RegExp class and its end. */
function bracket(pattern: string, start: number): { source: string; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (pattern[i] === '!' || pattern[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === ']' && !first) return { source: `[${negate ? '^' : ''}${body}]`, end: i + 1 };
    first = false;
    if (ch === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      const cls = close < 0 ? undefined : POSIX_CLASSES[pattern.slice(i + 2, close)];
      if (cls !== undefined) {
        body += cls;
        i = close + 2;
        continue;
      }
    }
    if (ch === '\\' && i + 1 < pattern.length) {
      body += escapeForClass(pattern[i + 1]!);
      i += 2;
      continue;
    }
    if (pattern[i + 1] === '-' && pattern[i + 2] !== undefined && pattern[i + 2] !== ']') {
      // A reversed range matches nothing, as in fnmatch; RegExp would refuse it.
      if (ch <= pattern[i + 2]!) body += `${escapeForClass(ch)}-${escapeForClass(pattern[i + 2]!)}`;
      i += 3;
      continue;
    }
    body += escapeForClass(ch);
    i++;
  }
  return undefined;
}

const NEVER = /(?!)/;

/**
 * Why fnmatch refuses a pattern, if it does: a refused pattern matches nothing. glibc refuses a
 * pattern that ends in an unescaped backslash, and a bracket expression naming an unknown
 * class (`[[:foo:]]`).
 */
export function refusedGlob(pattern: string): string | undefined {
  let open = -1;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      if (i + 1 === pattern.length) return 'it ends in a backslash, which escapes nothing';
      i++;
    } else if (ch === '[' && open < 0) {
      open = i;
      // A ']' first in the expression, or after its '!'/'^', is a member, not the end.
      if (pattern[i + 1] === '!' || pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
    } else if (ch === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      if (close < 0) continue;
      const name = pattern.slice(i + 2, close);
      if (!Object.hasOwn(POSIX_CLASSES, name)) return `'[:${name}:]' is not a character class`;
      i = close + 1;
    } else if (ch === ']' && open >= 0) {
      open = -1;
    }
  }
  return undefined;
}

/** The RegExp equivalent of a glob pattern, anchored at both ends. */
export function globToRegExp(pattern: string): RegExp {
  if (refusedGlob(pattern) !== undefined) return NEVER;
  let src = '';
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === '*') {
      src += '[\\s\\S]*';
      i++;
    } else if (ch === '?') {
      src += '[\\s\\S]';
      i++;
    } else if (ch === '[') {
      const b = bracket(pattern, i);
      if (b) {
        src += b.source;
        i = b.end;
      } else {
        // an unterminated bracket is a literal '[' in fnmatch
        src += '\\[';
        i++;
      }
    } else if (ch === '\\' && i + 1 < pattern.length) {
      src += escapeRegExp(pattern[i + 1]!);
      i += 2;
    } else {
      src += escapeRegExp(ch);
      i++;
    }
  }
  return new RegExp(`^${src}$`);
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const POSIX_TESTS: Readonly<Record<string, RegExp>> = Object.fromEntries(
  Object.entries(POSIX_CLASSES).map(([name, body]) => [name, new RegExp(`[${body}]`)]),
);

/**
 * Whether the character `c` matches the bracket expression at `pattern[start] === '['`, and
 * where the expression ends; undefined when it is not a terminated bracket expression.
 */
function matchBracket(pattern: string, start: number, c: string): { ok: boolean; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (pattern[i] === '!' || pattern[i] === '^') {
    negate = true;
    i++;
  }
  let hit = false;
  let first = true;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === ']' && !first) return { ok: hit !== negate, end: i + 1 };
    first = false;
    if (ch === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      const test = close < 0 ? undefined : POSIX_TESTS[pattern.slice(i + 2, close)];
      if (test !== undefined) {
        if (test.test(c)) hit = true;
        i = close + 2;
        continue;
      }
    }
    if (ch === '\\' && i + 1 < pattern.length) {
      if (pattern[i + 1] === c) hit = true;
      i += 2;
      continue;
    }
    const hi = pattern[i + 2];
    if (pattern[i + 1] === '-' && hi !== undefined && hi !== ']') {
      if (c >= ch && c <= hi) hit = true;
      i += 3;
      continue;
    }
    if (ch === c) hit = true;
    i++;
  }
  return undefined;
}

/**
 * fnmatch over a pattern known only per event. Backtracks over the last `*` only, which is
 * enough: a glob has no other construct that can match a variable length.
 */
export function globMatch(pattern: string, text: string): boolean {
  if (refusedGlob(pattern) !== undefined) return false;
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    let advanced = false;
    if (pc === '*') {
      starP = p++;
      starT = t;
      continue;
    }
    if (pc === '?') {
      p++;
      t++;
      advanced = true;
    } else if (pc === '[') {
      const m = matchBracket(pattern, p, text[t]!);
      if (m) {
        if (m.ok) {
          p = m.end;
          t++;
          advanced = true;
        }
      } else if (text[t] === '[') {
        p++;
        t++;
        advanced = true;
      }
    } else if (pc === '\\' && p + 1 < pattern.length) {
      if (pattern[p + 1] === text[t]) {
        p += 2;
        t++;
        advanced = true;
      }
    } else if (pc !== undefined && pc === text[t]) {
      p++;
      t++;
      advanced = true;
    }
    if (advanced) continue;
    if (starP < 0) return false;
    p = starP + 1;
    t = ++starT;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
