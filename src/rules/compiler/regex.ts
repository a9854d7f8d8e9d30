/**
 * Falco's `regex`: libsinsp compiles the pattern with RE2 in POSIX mode (`RE2::POSIX`) and
 * requires it to match the whole value. POSIX mode is egrep syntax: bracket classes such as
 * `[[:digit:]]` work, while Perl's additions do not (`\d`, `\w`, `\s`, `\b`, `(?:...)`, `(?i)`,
 * lookaround, lazy `*?`, back references) and Falco refuses the rule. JavaScript reads the
 * same text differently (`[[:digit:]]` is a set of characters there), so patterns are
 * checked against RE2's rules and translated before they become RegExps.
 */

import { POSIX_CLASSES as FNMATCH_CLASSES } from './posix-classes.js';

/** RE2 knows two classes more than fnmatch. */
const POSIX_CLASSES: Readonly<Record<string, string>> = { ...FNMATCH_CLASSES, word: '0-9A-Za-z_', ascii: '\\x00-\\x7f' };

const PERL_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 'b', 'B', 'A', 'z', 'Z', 'Q', 'E', 'C', 'G', 'K', 'p', 'P']);

/** Why RE2's POSIX mode refuses `pattern`, if it does (beyond plain syntax errors). */
export function re2PosixProblem(pattern: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return 'it ends in a backslash';
      if (PERL_ESCAPES.has(next)) return `'\\${next}' is Perl syntax, which RE2 in POSIX mode refuses (use a bracket class such as [[:digit:]] or [[:space:]])`;
      if (next >= '1' && next <= '9') return `'\\${next}' is a back reference, which RE2 does not support`;
      i++;
      continue;
    }
    if (inClass) {
      if (ch === '[' && pattern[i + 1] === ':') {
        const close = pattern.indexOf(':]', i + 2);
        if (close >= 0) {
          const name = pattern.slice(i + 2, close);
          if (!Object.hasOwn(POSIX_CLASSES, name)) return `'[:${name}:]' is not a character class`;
          i = close + 1;
        }
      } else if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
    } else if (ch === '(' && pattern[i + 1] === '?') {
      return `'(?' groups and flags are Perl syntax, which RE2 in POSIX mode refuses`;
    } else if ((ch === '*' || ch === '+' || ch === '?' || ch === '}') && pattern[i + 1] === '?' && i > 0) {
      return `'${ch}?' (a lazy repeat) is Perl syntax, which RE2 in POSIX mode refuses`;
    }
  }
  return undefined;
}

/** The pattern as JavaScript RegExp source: bracket classes spelled out as ranges. */
function translate(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      out += ch + (pattern[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (ch === '[' && pattern[i + 1] === ':') {
        const close = pattern.indexOf(':]', i + 2);
        const cls = close < 0 ? undefined : POSIX_CLASSES[pattern.slice(i + 2, close)];
        if (cls !== undefined) {
          out += cls;
          i = close + 1;
          continue;
        }
      }
      // A '[' inside a class is a member in POSIX; JavaScript wants it escaped.
      out += ch === '[' ? '\\[' : ch;
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') {
      inClass = true;
      out += ch;
      if (pattern[i + 1] === '^') out += pattern[++i];
      // ']' first in a class is a member
      if (pattern[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    out += ch;
  }
  return out;
}

/** The RegExp matching the whole value as Falco's regex does, or why RE2 would refuse it. */
function compile(pattern: string): RegExp | string {
  const refused = re2PosixProblem(pattern);
  if (refused) return refused;
  const source = translate(pattern);
  try {
    // Checked as written, so a syntax error quotes the user's pattern, then anchored.
    new RegExp(source);
  } catch (err) {
    return (err as Error).message;
  }
  return new RegExp(`^(?:${source})$`);
}

/** A RegExp matching the whole value as Falco's regex does; undefined when RE2 would refuse it. */
export function falcoRegExp(pattern: string): RegExp | undefined {
  const re = compile(pattern);
  return typeof re === 'string' ? undefined : re;
}

/** What lint says of a pattern: RE2's refusal, or the syntax error. */
export function regexProblem(pattern: string): string | undefined {
  const re = compile(pattern);
  return typeof re === 'string' ? re : undefined;
}
