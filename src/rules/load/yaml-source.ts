/**
 * A rule file as YAML nodes that know where they are. Everything the loader reports points at
 * the item or key concerned, and a condition's syntax error at the token within it, so this
 * module turns node ranges and offsets inside scalar values back into file:line:col.
 *
 * Parsing a large file takes seconds, so it is done in steps (paced.ts): the text is lexed and
 * parsed a few hundred tokens at a time, and the top-level items of the list are turned into
 * nodes a few at a time. The nodes are the ones one parse of the whole text gives: the syntax
 * tokens keep their offsets in the whole text. A file that is not one plain list, or that uses
 * aliases (which may point into another item), is turned into nodes in one piece.
 */
import { Composer, CST, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, type Document, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { problem, type Problem, type SourceLocation } from '../problems.js';
import { runNow, type Steps } from './paced.js';

const PARSE_OPTIONS = { keepSourceTokens: false, uniqueKeys: true } as const;
/** Lexemes read between two pauses: about a millisecond of work. */
const LEXEMES_PER_STEP = 256;
/** Top-level items turned into nodes between two pauses. */
const ITEMS_PER_STEP = 16;
/** Tokens that may stand around the one document of a list parsed item by item. */
const TRIVIA = new Set(['byte-order-mark', 'space', 'comment', 'newline', 'doc-end']);

/** The whole text as YAML: what it holds, and what was wrong with it. */
interface ParsedText {
  readonly errors: readonly YamlIssue[];
  readonly warnings: readonly YamlIssue[];
  /** `list`: a YAML sequence, whose items are in `items`; `other`: any other value. */
  readonly shape: 'empty' | 'list' | 'other';
  readonly items: readonly unknown[];
}

interface YamlIssue {
  readonly offset: number;
  readonly message: string;
}

export class SourceFile {
  readonly problems: Problem[] = [];
  /** The top-level items, each a YAML map. */
  readonly items: YAMLMap[] = [];

  /** Parses a rules text at once. */
  static parse(file: string, text: string): SourceFile {
    return runNow(SourceFile.parseSteps(file, text));
  }

  /** Parses a rules text in steps, pausing between them. */
  static *parseSteps(file: string, text: string): Steps<SourceFile> {
    const lines = new LineCounter();
    const parsed = yield* parseText(text, lines);
    return new SourceFile(file, text, lines, parsed);
  }

  private constructor(
    readonly file: string,
    readonly text: string,
    private readonly lines: LineCounter,
    parsed: ParsedText,
  ) {
    for (const err of parsed.errors) this.problems.push(problem(this.at(err.offset), 'error', 'LANNER_RULE_YAML', err.message));
    for (const warn of parsed.warnings) this.problems.push(problem(this.at(warn.offset), 'warning', 'LANNER_RULE_YAML', warn.message));
    if (parsed.errors.length > 0 || parsed.shape === 'empty') return;
    if (parsed.shape === 'other') {
      this.problems.push(problem(this.at(0), 'error', 'LANNER_RULE_YAML', 'a rules file must be a YAML list of - list:, - macro: and - rule: items'));
      return;
    }
    for (const item of parsed.items) {
      if (isMap(item)) this.items.push(item);
      else this.problems.push(problem(this.nodeAt(item as Node), 'error', 'LANNER_RULE_YAML', 'each item of a rules file must be a mapping (- rule: ..., - macro: ..., - list: ...)'));
    }
  }

  /** Line and column of an offset in the file. */
  at(offset: number): SourceLocation {
    const { line, col } = this.lines.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { file: this.file, line, col };
  }

  nodeAt(node: Node | null | undefined): SourceLocation {
    return this.at(node?.range?.[0] ?? 0);
  }

  /**
   * Where an offset into a scalar's value lies in the file. Folding, indentation and escapes
   * make the value differ from the source text, so the token at the offset is looked up in the
   * scalar's source span, at the same occurrence count as in the value.
   */
  valueOffsetAt(node: Scalar, value: string, offset: number): SourceLocation {
    const range = node.range;
    if (!range) return this.at(0);
    const [start, end] = range;
    if (offset < 0) return this.at(start);
    const source = this.text.slice(start, end);
    // A block scalar's range starts at its `>` or `|` header, which a `>` in the condition
    // would match first: its text starts on the next line.
    const body = node.type === 'BLOCK_FOLDED' || node.type === 'BLOCK_LITERAL' ? source.indexOf('\n') + 1 : 0;
    const token = /^\S{1,24}/.exec(value.slice(offset))?.[0];
    if (!token) return this.at(offset >= value.length ? trimmedEnd(this.text, start, end) : start);
    let occurrence = 0;
    for (let i = value.indexOf(token); i >= 0 && i < offset; i = value.indexOf(token, i + 1)) occurrence++;
    let found = -1;
    for (let i = source.indexOf(token, body), n = 0; i >= 0; i = source.indexOf(token, i + 1), n++) {
      if (n === occurrence) {
        found = i;
        break;
      }
    }
    return this.at(found < 0 ? start : start + found);
  }
}

/** Parses the text into syntax tokens, then into nodes: a plain list item by item. */
function* parseText(text: string, lines: LineCounter): Steps<ParsedText> {
  const parser = new Parser(lines.addNewLine);
  // As Parser.parse does: the first line starts at offset 0.
  lines.addNewLine(0);
  const tokens: CST.Token[] = [];
  let hasAlias = false;
  // The lexeme after a scalar marker is the scalar's text, whatever it starts with.
  let atScalar = false;
  let count = 0;
  for (const lexeme of new Lexer().lex(text, false)) {
    if (atScalar) atScalar = false;
    else {
      const type = CST.tokenType(lexeme);
      if (type === 'scalar') atScalar = true;
      else if (type === 'alias') hasAlias = true;
    }
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (++count % LEXEMES_PER_STEP === 0) yield;
  }
  for (const token of parser.end()) tokens.push(token);

  const documents = tokens.filter((t): t is CST.Document => t.type === 'document');
  const only = documents.length === 1 ? documents[0]! : undefined;
  const list = only?.value?.type === 'block-seq' ? only.value : undefined;
  if (only === undefined || list === undefined || hasAlias || !tokens.every((t) => t === only || TRIVIA.has(t.type))) {
    return composeWhole(tokens, text.length);
  }

  const at = tokens.indexOf(only);
  const errors: YamlIssue[] = [];
  const warnings: YamlIssue[] = [];
  const items: unknown[] = [];
  for (let from = 0; from === 0 || from < list.items.length; from += ITEMS_PER_STEP) {
    const to = Math.min(from + ITEMS_PER_STEP, list.items.length);
    const last = to === list.items.length;
    const part: CST.Document = {
      type: 'document',
      offset: only.offset,
      start: from === 0 ? only.start : [],
      value: { ...list, items: list.items.slice(from, to) },
      ...(last && only.end ? { end: only.end } : {}),
    };
    const doc = composeOne([...(from === 0 ? tokens.slice(0, at) : []), part, ...(last ? tokens.slice(at + 1) : [])], text.length);
    errors.push(...issues(doc.errors));
    warnings.push(...issues(doc.warnings));
    if (isSeq(doc.contents)) items.push(...doc.contents.items);
    yield;
  }
  return { errors, warnings, shape: 'list', items };
}

/** The text as one document, as parseDocument makes it. */
function composeWhole(tokens: readonly CST.Token[], length: number): ParsedText {
  const composed = [...new Composer(PARSE_OPTIONS).compose(tokens, true, length)];
  const doc = composed[0]!;
  const errors = issues(doc.errors);
  if (composed.length > 1) errors.push({ offset: composed[1]!.range[0], message: 'a rules file holds one YAML document; this is a second one' });
  const contents = doc.contents;
  const shape = contents === null || (isScalar(contents) && (contents.value === null || contents.value === '')) ? 'empty' : isSeq(contents) ? 'list' : 'other';
  return { errors, warnings: issues(doc.warnings), shape, items: isSeq(contents) ? contents.items : [] };
}

function composeOne(tokens: readonly CST.Token[], length: number): Document.Parsed {
  return [...new Composer(PARSE_OPTIONS).compose(tokens, true, length)][0]!;
}

function issues(list: readonly { pos: [number, number]; message: string }[]): YamlIssue[] {
  return list.map((e) => ({ offset: e.pos[0], message: e.message.split('\n')[0]! }));
}

function trimmedEnd(text: string, start: number, end: number): number {
  let e = end;
  while (e > start && /\s/.test(text.charAt(e - 1))) e--;
  return e;
}

/** A map's entries with plain string keys. */
export function entries(map: YAMLMap): { key: string; keyNode: Scalar; value: Node | null; pair: Pair }[] {
  const out: { key: string; keyNode: Scalar; value: Node | null; pair: Pair }[] = [];
  for (const pair of map.items) {
    const k = pair.key;
    if (!isScalar(k)) continue;
    out.push({ key: String(k.value), keyNode: k, value: (pair.value as Node | null) ?? null, pair });
  }
  return out;
}

/** A scalar's text as written (before YAML typed it), or undefined for anything else. */
export function scalarText(node: Node | null | undefined): string | undefined {
  if (!isScalar(node)) return undefined;
  if (node.value === null) return undefined;
  return node.source ?? String(node.value);
}

export function isScalarNode(node: Node | null | undefined): node is Scalar {
  return isScalar(node);
}

/** The items of a YAML sequence, or undefined when the node is not one. */
export function seqItems(node: Node | null | undefined): (Node | null)[] | undefined {
  return isSeq(node) ? (node.items as (Node | null)[]) : undefined;
}

/** The YAML value as plain data, for keys kept raw for later stages. */
export function toPlain(node: Node | null | undefined): unknown {
  if (node === null || node === undefined) return null;
  return (node as { toJSON(): unknown }).toJSON();
}

/** A YAML boolean the way yaml-cpp (Falco) reads it. */
export function parseBool(text: string): boolean | undefined {
  const t = text.toLowerCase();
  if (t === 'true' || t === 'yes' || t === 'on' || t === 'y') return true;
  if (t === 'false' || t === 'no' || t === 'off' || t === 'n') return false;
  return undefined;
}
