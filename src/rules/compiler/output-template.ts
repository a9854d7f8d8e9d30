/**
 * A rule's output line as Falco renders it: `%field`, `%field[arg]`, `%evt.arg.name` and
 * `%tolower(field)` are replaced by the event's values, a missing or null value by `<NA>`, and
 * `%20proc.name` pads or cuts the value to 20 characters, as libsinsp's formatter does. The
 * template is split into parts once; rendering only concatenates.
 */
import type { FalcoEvent, FieldValue } from '../../core/event.js';
import { baseField, fieldKey, printOperand } from '../language/ast.js';
import { checkFieldName } from '../fields/field-catalog.js';
import { operandReader, type FieldReader } from '../fields/fields.js';
import { parseOperandPrefix } from '../language/parser.js';

export const NOT_AVAILABLE = '<NA>';

interface FieldPart {
  readonly read: FieldReader;
  readonly width: number;
}

type Part = string | FieldPart;

export interface TemplateIssue {
  /** Offset of the `%` in the template. */
  readonly offset: number;
  readonly message: string;
}

export interface OutputTemplate {
  readonly text: string;
  /** Field keys the template reads, in order of first use (`proc.name`, `proc.aname[2]`). */
  readonly fields: readonly string[];
  /** Tokens as written (`tolower(proc.name)`), in order. */
  readonly tokens: readonly string[];
  render(event: FalcoEvent): string;
}

/**
 * Falco renders a value as text; lists as `(a,b)`. Anything that is no field value at all (what
 * a lookup by an event's string could reach on a prototype) renders as missing rather than
 * throwing on the event that carried it.
 */
export function renderValue(v: FieldValue | undefined): string {
  if (v === undefined || v === null) return NOT_AVAILABLE;
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v);
    default:
      return Array.isArray(v) ? `(${v.join(',')})` : NOT_AVAILABLE;
  }
}

// Falco used to expand %container.info into container id and name; the container plugin made it
// an empty token kept only so that old rules still load.
const EMPTY_TOKENS = new Set(['container.info']);

export function compileOutputTemplate(written: string): { template: OutputTemplate; issues: TemplateIssue[] } {
  // A YAML block scalar (`output: >`) ends in a newline that no alert line should carry; only the
  // end is trimmed, so issue offsets still point into the text as written.
  const text = written.replace(/\s+$/, '');
  const parts: Part[] = [];
  const fields: string[] = [];
  const tokens: string[] = [];
  const issues: TemplateIssue[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch !== '%') {
      literal += ch;
      i++;
      continue;
    }
    const start = i;
    let j = i + 1;
    let width = 0;
    while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) width = width * 10 + (text.charCodeAt(j++) - 48);
    const parsed = parseOperandPrefix(text.slice(j));
    if (!parsed) {
      issues.push({ offset: start, message: `'%' is not followed by a field name: '${text.slice(start, start + 20)}'` });
      literal += ch;
      i++;
      continue;
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    const key = fieldKey(baseField(parsed.operand));
    const name = baseField(parsed.operand).name;
    if (!EMPTY_TOKENS.has(key) && checkFieldName(name) !== 'known') issues.push({ offset: start, message: `unknown field '${name}': it always renders as <NA>` });
    tokens.push(printOperand(parsed.operand));
    if (!EMPTY_TOKENS.has(key)) {
      if (!fields.includes(key)) fields.push(key);
      parts.push({ read: operandReader(parsed.operand), width });
    }
    i = j + parsed.end;
  }
  if (literal !== '') parts.push(literal);
  const frozen = Object.freeze(parts);
  const template: OutputTemplate = {
    text,
    fields,
    tokens,
    render(event: FalcoEvent): string {
      let out = '';
      for (let k = 0; k < frozen.length; k++) {
        const p = frozen[k]!;
        if (typeof p === 'string') {
          out += p;
          continue;
        }
        const s = renderValue(p.read(event));
        out += p.width === 0 ? s : s.length >= p.width ? s.slice(0, p.width) : s.padEnd(p.width, ' ');
      }
      return out;
    },
  };
  return { template, issues };
}
