/**
 * A rule file as YAML nodes that know where they are. Everything the loader reports points at
 * the item or key concerned, and a condition's syntax error at the token within it, so this
 * module turns node ranges and offsets inside scalar values back into file:line:col.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { problem, type Problem, type SourceLocation } from '../problems.js';

export class SourceFile {
  private readonly lines = new LineCounter();
  readonly problems: Problem[] = [];
  /** The top-level items, each a YAML map. */
  readonly items: YAMLMap[] = [];

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    const doc = parseDocument(text, { lineCounter: this.lines, keepSourceTokens: false, uniqueKeys: true });
    for (const err of doc.errors) {
      this.problems.push(problem(this.at(err.pos[0]), 'error', 'LANNER_RULE_YAML', err.message.split('\n')[0]!));
    }
    for (const warn of doc.warnings) {
      this.problems.push(problem(this.at(warn.pos[0]), 'warning', 'LANNER_RULE_YAML', warn.message.split('\n')[0]!));
    }
    if (doc.errors.length > 0) return;
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && (contents.value === null || contents.value === ''))) return;
    if (!isSeq(contents)) {
      this.problems.push(problem(this.at(0), 'error', 'LANNER_RULE_YAML', 'a rules file must be a YAML list of - list:, - macro: and - rule: items'));
      return;
    }
    for (const item of contents.items) {
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
