/**
 * The scanner under the condition parser. Falco's condition grammar is context-dependent (a
 * bare word is a macro name in one place, a value in another), so instead of a token stream the
 * scanner offers one method per kind of token and the parser asks for the one it expects, as
 * libsinsp's parser does. Token shapes follow libsinsp's grammar.
 */

/** A syntax error at an offset of the condition text. */
export class ConditionSyntaxError extends Error {
  constructor(
    readonly offset: number,
    message: string,
    /** True when the problem is the operator (missing or unknown), not the syntax around it. */
    readonly badOperator = false,
  ) {
    super(message);
    this.name = 'ConditionSyntaxError';
  }
}

const IDENTIFIER = /[a-zA-Z]+[a-zA-Z0-9_]*/y;
const FIELD_NAME = /[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+/y;
const FIELD_ARG_BARE = /[^ \x08\t\n\r[\]"']+/y;
const HEX_NUMBER = /0[xX][0-9a-zA-Z]+/y;
const NUMBER = /[+-]?[0-9]+\.?[0-9]*(?:[eE][+-][0-9]+)?/y;
const BARE_STRING = /[^ \x08\t\n\r(),="']+/y;
const WORD_CHAR = /[a-zA-Z0-9_]/;

export class Scanner {
  pos = 0;

  constructor(readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text.charAt(this.pos);
  }

  /** Skips blanks; true if there were any. */
  blank(): boolean {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      // space, \b, \t, \n, \r: the blanks libsinsp skips
      if (c === 32 || c === 8 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
    return this.pos > start;
  }

  /** Consumes `s` if the text continues with it. */
  literal(s: string): boolean {
    if (!this.text.startsWith(s, this.pos)) return false;
    this.pos += s.length;
    return true;
  }

  /** Consumes the keyword `word` only when no identifier character follows it. */
  keyword(word: string): boolean {
    if (!this.text.startsWith(word, this.pos)) return false;
    const next = this.text.charAt(this.pos + word.length);
    if (next !== '' && WORD_CHAR.test(next)) return false;
    this.pos += word.length;
    return true;
  }

  /** Whether a keyword follows, without consuming it. */
  lookingAtKeyword(word: string): boolean {
    const save = this.pos;
    const found = this.keyword(word);
    this.pos = save;
    return found;
  }

  private sticky(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  identifier(): string | undefined {
    return this.sticky(IDENTIFIER);
  }

  fieldName(): string | undefined {
    return this.sticky(FIELD_NAME);
  }

  fieldArgBare(): string | undefined {
    return this.sticky(FIELD_ARG_BARE);
  }

  number(): string | undefined {
    return this.sticky(HEX_NUMBER) ?? this.sticky(NUMBER);
  }

  bareString(): string | undefined {
    return this.sticky(BARE_STRING);
  }

  /**
   * A single- or double-quoted string, unescaped; undefined when no quote starts here.
   * Escapes are libsinsp's: \b \f \n \r \t \\ \/ and the quote that delimits the string.
   */
  quoted(): string | undefined {
    const quote = this.peek();
    if (quote !== '"' && quote !== "'") return undefined;
    const start = this.pos;
    let out = '';
    let i = this.pos + 1;
    while (i < this.text.length) {
      const ch = this.text.charAt(i);
      if (ch === quote) {
        // libsinsp ends a string only at a quote not preceded by a backslash, an escaped one
        // included: "a\\" does not end there, so it is refused rather than read otherwise.
        if (this.text.charAt(i - 1) === '\\' && i - 1 > start) {
          throw new ConditionSyntaxError(i - 1, 'a quoted string cannot end in a backslash: Falco does not end a string at a quote that follows one');
        }
        this.pos = i + 1;
        return out;
      }
      if (ch === '\\') {
        const next = this.text.charAt(i + 1);
        const unescaped = unescapeChar(next, quote);
        if (unescaped === undefined) {
          throw new ConditionSyntaxError(i, next === '' ? 'unterminated string' : `unsupported escape sequence \\${next} in a quoted string`);
        }
        out += unescaped;
        i += 2;
        continue;
      }
      out += ch;
      i++;
    }
    throw new ConditionSyntaxError(start, 'unterminated quoted string');
  }
}

function unescapeChar(c: string, quote: string): string | undefined {
  switch (c) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case '\\': return '\\';
    case '/': return '/';
    // libsinsp reads "\ " as a backslash; some old Falco rules wrote it meaning a space.
    case ' ': return '\\';
    case '"': return quote === '"' ? '"' : undefined;
    case "'": return quote === "'" ? "'" : undefined;
    default: return undefined;
  }
}

/**
 * A list item or exception value as Falco writes it in YAML: `'"a b"'` is the quoted string
 * `a b`, anything else is taken as it is.
 */
export function unquoteItem(item: string): { text: string; quoted: boolean } {
  const first = item.charAt(0);
  if ((first === '"' || first === "'") && item.length >= 2 && item.endsWith(first)) {
    const s = new Scanner(item);
    try {
      const text = s.quoted();
      if (text !== undefined && s.atEnd()) return { text, quoted: true };
    } catch {
      // not a well-formed quoted string: keep it verbatim, as Falco's text substitution would
    }
  }
  return { text: item, quoted: false };
}
