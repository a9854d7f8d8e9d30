/**
 * Reads the items of rule files in order and folds them into the final lists, macros and rules,
 * as Falco's rule loader does: a later definition replaces an earlier one, `override:` appends
 * to or replaces chosen keys, legacy `append: true` appends, and `- rule: X` with only
 * `enabled:` switches an existing rule on or off. Nothing is parsed or compiled here.
 */
import type { Node, Scalar, YAMLMap } from 'yaml';
import type { Priority } from '../../core/event.js';
import { parsePriority } from '../../core/priority.js';
import { mergeExceptions, readExceptions, type RuleException } from './exceptions.js';
import { problem, type Problem, type SourceLocation } from '../problems.js';
import type { Steps } from './paced.js';
import { entries, parseBool, scalarText, seqItems, toPlain, type SourceFile } from './yaml-source.js';

/** A piece of text from one YAML scalar; appends make a condition of several. */
export interface TextSegment {
  readonly text: string;
  readonly node: Scalar;
  readonly src: SourceFile;
}

/** Where a definition, or a change to it, was made. */
export interface Origin {
  readonly src: SourceFile;
  readonly node: YAMLMap;
  readonly at: SourceLocation;
}

export interface ListEntry {
  readonly name: string;
  items: string[];
  /** Where each item is written, in step with `items`. */
  itemsAt: SourceLocation[];
  origin: Origin;
}

export interface MacroEntry {
  readonly name: string;
  condition: TextSegment[];
  origin: Origin;
  /** Place among all items of the files, in load order, of its first definition. */
  readonly definedAt: number;
  /** Place of the last item that defined, appended to or replaced its condition. */
  changedAt: number;
}

/** A key Lanner keeps for later stages (sequence, threshold, baseline): the YAML as data and node. */
export interface RawKey {
  readonly value: unknown;
  readonly node: Node | null;
  readonly at: SourceLocation;
}

export const STATEFUL_KEYS = ['sequence', 'threshold', 'baseline'] as const;
export type StatefulKey = (typeof STATEFUL_KEYS)[number];

export interface RuleEntry {
  readonly name: string;
  condition: TextSegment[] | undefined;
  output: TextSegment[];
  desc: string;
  priority: Priority;
  tags: string[];
  enabled: boolean;
  source: string;
  exceptions: RuleException[];
  runbook: string | undefined;
  actions: string[] | undefined;
  stateful: Partial<Record<StatefulKey, RawKey>>;
  /** Other keys Falco defines that Lanner keeps but does not act on (capture, warn_evttypes, ...). */
  extra: Record<string, unknown>;
  origin: Origin;
  /** Items that changed the rule after its definition (overrides, appends, enabled). */
  refinements: Origin[];
}

const RULE_KEYS = new Set([
  'rule', 'condition', 'output', 'desc', 'priority', 'tags', 'enabled', 'source', 'exceptions', 'override', 'append',
  'warn_evttypes', 'skip-if-unknown-filter', 'capture', 'capture_duration', 'runbook', 'actions', ...STATEFUL_KEYS,
  // Lanner's bounds on a stateful rule's state (max_keys, ttl); kept in `extra` and `raw`.
  'state',
]);
const MACRO_KEYS = new Set(['macro', 'condition', 'override', 'append']);
const LIST_KEYS = new Set(['list', 'items', 'override', 'append']);

/** Keys `override:` may append to / replace, per kind (Falco's, plus Lanner's own keys). */
const APPENDABLE: Readonly<Record<'rule' | 'macro' | 'list', ReadonlySet<string>>> = {
  rule: new Set(['condition', 'output', 'desc', 'tags', 'exceptions', 'actions']),
  macro: new Set(['condition']),
  list: new Set(['items']),
};
const REPLACEABLE: Readonly<Record<'rule' | 'macro' | 'list', ReadonlySet<string>>> = {
  rule: new Set([
    'condition', 'output', 'desc', 'priority', 'tags', 'exceptions', 'enabled', 'warn_evttypes', 'skip-if-unknown-filter',
    'capture', 'capture_duration', 'runbook', 'actions', 'state', ...STATEFUL_KEYS,
  ]),
  macro: new Set(['condition']),
  list: new Set(['items']),
};

type Mode = 'append' | 'replace';

export class Collector {
  readonly lists = new Map<string, ListEntry>();
  readonly macros = new Map<string, MacroEntry>();
  readonly rules = new Map<string, RuleEntry>();

  constructor(private readonly problems: Problem[]) {}

  private report(at: SourceLocation, severity: Problem['severity'], code: Problem['code'], message: string): void {
    this.problems.push(problem(at, severity, code, message));
  }

  /** How many items have been read, over all files: macros' places in load order. */
  private itemCount = 0;

  /** Folds in every item of a file, in order, pausing after each. */
  *addFileSteps(src: SourceFile): Steps<void> {
    for (const item of src.items) {
      this.itemCount++;
      this.addItem(src, item);
      yield;
    }
  }

  private addItem(src: SourceFile, node: YAMLMap): void {
    const es = entries(node);
    const at = src.nodeAt(node);
    const kinds = es.filter((e) => ['rule', 'macro', 'list', 'required_engine_version', 'required_plugin_versions'].includes(e.key));
    if (kinds.length === 0) {
      this.report(at, 'warning', 'LANNER_RULE_UNKNOWN_ITEM', `unknown item with keys ${es.map((e) => `'${e.key}'`).join(', ')}: expected - rule:, - macro: or - list:`);
      return;
    }
    if (kinds.length > 1) {
      this.report(at, 'error', 'LANNER_RULE_SCHEMA', `an item can only be one of rule, macro, list (found ${kinds.map((k) => k.key).join(', ')})`);
      return;
    }
    const kind = kinds[0]!;
    if (kind.key === 'required_engine_version') {
      const version = scalarText(kind.value);
      // Falco takes a semantic version, or the number of its older engine versions.
      if (version === undefined || !/^(?:\d+|\d+\.\d+\.\d+)$/.test(version.trim())) {
        this.report(src.nodeAt(kind.value ?? kind.keyNode), 'error', 'LANNER_RULE_VERSION', `required_engine_version '${version ?? ''}' is not a version: write it as 0.31.0, or a number such as 17`);
        return;
      }
      this.report(src.nodeAt(kind.keyNode), 'info', 'LANNER_RULE_VERSION', `requires Falco engine version ${version} (accepted; Lanner evaluates conditions itself)`);
      return;
    }
    if (kind.key === 'required_plugin_versions') {
      const plugins = (seqItems(kind.value) ?? []).map((p) => {
        const plain = toPlain(p) as { name?: unknown; version?: unknown } | null;
        return `${String(plain?.name ?? '?')} ${String(plain?.version ?? '')}`.trim();
      });
      this.report(src.nodeAt(kind.keyNode), 'info', 'LANNER_RULE_VERSION', `requires Falco plugins ${plugins.join(', ')} (accepted; Lanner reads the fields they produce from events)`);
      return;
    }
    const name = scalarText(kind.value);
    if (!name) {
      this.report(src.nodeAt(kind.value ?? kind.keyNode), 'error', 'LANNER_RULE_SCHEMA', `'${kind.key}' needs a name`);
      return;
    }
    const known = kind.key === 'rule' ? RULE_KEYS : kind.key === 'macro' ? MACRO_KEYS : LIST_KEYS;
    const values = new Map<string, { value: Node | null; at: SourceLocation }>();
    for (const e of es) {
      if (!known.has(e.key)) {
        this.report(src.nodeAt(e.keyNode), 'warning', 'LANNER_RULE_UNKNOWN_KEY', `unknown key '${e.key}' in ${kind.key} '${name}' (ignored)`);
        continue;
      }
      values.set(e.key, { value: e.value, at: src.nodeAt(e.keyNode) });
    }
    const origin: Origin = { src, node, at };
    const modes = this.modes(kind.key as 'rule' | 'macro' | 'list', name, values);
    if (modes === undefined) return;
    if (kind.key === 'list') this.addList(name, values, modes, origin);
    else if (kind.key === 'macro') this.addMacro(name, values, modes, origin);
    else this.addRule(name, values, modes, origin);
  }

  /**
   * How each key combines with an existing definition: undefined on a bad override; an empty
   * map for a plain definition; 'legacy' for `append: true`.
   */
  private modes(
    kind: 'rule' | 'macro' | 'list',
    name: string,
    values: Map<string, { value: Node | null; at: SourceLocation }>,
  ): Map<string, Mode> | 'legacy' | undefined {
    const override = values.get('override');
    const append = values.get('append');
    const appendFlag = append ? parseBool(scalarText(append.value) ?? '') : undefined;
    if (append && appendFlag === undefined) {
      this.report(append.at, 'error', 'LANNER_RULE_SCHEMA', "'append' must be true or false");
      return undefined;
    }
    if (override && appendFlag) {
      this.report(override.at, 'error', 'LANNER_RULE_OVERRIDE', `${kind} '${name}' uses both 'override' and 'append': use only 'override'`);
      return undefined;
    }
    if (!override) return appendFlag ? 'legacy' : new Map();
    const modes = new Map<string, Mode>();
    const plain = toPlain(override.value);
    if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
      this.report(override.at, 'error', 'LANNER_RULE_OVERRIDE', "'override' must map keys to append or replace");
      return undefined;
    }
    let ok = true;
    for (const [key, mode] of Object.entries(plain as Record<string, unknown>)) {
      if (mode !== 'append' && mode !== 'replace') {
        this.report(override.at, 'error', 'LANNER_RULE_OVERRIDE', `override of '${key}' must be 'append' or 'replace', not '${String(mode)}'`);
        ok = false;
        continue;
      }
      const allowed = mode === 'append' ? APPENDABLE[kind] : REPLACEABLE[kind];
      if (!allowed.has(key)) {
        this.report(override.at, 'error', 'LANNER_RULE_OVERRIDE', `key '${key}' of a ${kind} cannot be overridden with '${mode}' (${mode === 'append' ? 'appendable' : 'replaceable'}: ${[...allowed].join(', ')})`);
        ok = false;
        continue;
      }
      if (!values.has(key)) {
        this.report(override.at, 'error', 'LANNER_RULE_OVERRIDE', `override lists '${key}' but the item has no '${key}'`);
        ok = false;
        continue;
      }
      modes.set(key, mode);
    }
    for (const [key, v] of values) {
      // `append: false` beside `override:` says nothing more; Falco accepts it.
      if (key === kind || key === 'override' || key === 'append') continue;
      if (!modes.has(key) && !(plain as Record<string, unknown>)[key]) {
        this.report(v.at, 'error', 'LANNER_RULE_OVERRIDE', `key '${key}' is not listed in 'override', so this item cannot change it`);
        ok = false;
      }
    }
    return ok ? modes : undefined;
  }

  private redefined(kind: string, name: string, previous: Origin, origin: Origin): void {
    const sameFile = previous.src.file === origin.src.file;
    this.report(
      origin.at,
      sameFile ? 'warning' : 'info',
      'LANNER_RULE_REDEFINED',
      `${kind} '${name}' is defined again (first at ${previous.at.file}:${previous.at.line}); this definition replaces it`,
    );
  }

  private stringList(v: { value: Node | null; at: SourceLocation } | undefined, what: string): string[] | undefined {
    return this.placedStringList(v, what, undefined)?.items;
  }

  /** A list of strings and, given the file, where each is written. */
  private placedStringList(
    v: { value: Node | null; at: SourceLocation } | undefined,
    what: string,
    src: SourceFile | undefined,
  ): { items: string[]; at: SourceLocation[] } | undefined {
    if (!v) return undefined;
    const items = seqItems(v.value);
    if (!items) {
      if (v.value === null) return { items: [], at: [] };
      this.report(v.at, 'error', 'LANNER_RULE_SCHEMA', `'${what}' must be a list`);
      return undefined;
    }
    const out: string[] = [];
    const at: SourceLocation[] = [];
    for (const i of items) {
      const t = scalarText(i);
      if (t === undefined) {
        this.report(v.at, 'error', 'LANNER_RULE_SCHEMA', `every item of '${what}' must be a string`);
        continue;
      }
      out.push(t);
      at.push(src ? src.nodeAt(i as Node) : v.at);
    }
    return { items: out, at };
  }

  private segment(v: { value: Node | null; at: SourceLocation } | undefined, origin: Origin, what: string): TextSegment | undefined {
    if (!v) return undefined;
    const text = scalarText(v.value);
    if (text === undefined) {
      this.report(v.at, 'error', 'LANNER_RULE_SCHEMA', `'${what}' must be a string`);
      return undefined;
    }
    return { text, node: v.value as Scalar, src: origin.src };
  }

  private addList(name: string, values: Map<string, { value: Node | null; at: SourceLocation }>, modes: Map<string, Mode> | 'legacy', origin: Origin): void {
    const placed = this.placedStringList(values.get('items'), 'items', origin.src);
    if (placed === undefined) {
      if (!values.has('items')) this.report(origin.at, 'error', 'LANNER_RULE_SCHEMA', `list '${name}' has no 'items'`);
      return;
    }
    const { items, at: itemsAt } = placed;
    const prev = this.lists.get(name);
    const mode = modes === 'legacy' ? 'append' : modes.get('items');
    // Replacing what is not defined yet defines it, as in Falco.
    if (mode !== undefined && (prev || mode === 'append')) {
      if (!prev) {
        this.report(origin.at, 'error', 'LANNER_RULE_UNKNOWN_LIST', `list '${name}' is ${mode === 'append' ? 'appended to' : 'replaced'} but not defined before`);
        return;
      }
      prev.items = mode === 'append' ? [...prev.items, ...items] : items;
      prev.itemsAt = mode === 'append' ? [...prev.itemsAt, ...itemsAt] : itemsAt;
      return;
    }
    if (prev) this.redefined('list', name, prev.origin, origin);
    this.lists.set(name, { name, items, itemsAt, origin });
  }

  private addMacro(name: string, values: Map<string, { value: Node | null; at: SourceLocation }>, modes: Map<string, Mode> | 'legacy', origin: Origin): void {
    const seg = this.segment(values.get('condition'), origin, 'condition');
    if (!seg) {
      if (!values.has('condition')) this.report(origin.at, 'error', 'LANNER_RULE_SCHEMA', `macro '${name}' has no 'condition'`);
      return;
    }
    const prev = this.macros.get(name);
    const mode = modes === 'legacy' ? 'append' : modes.get('condition');
    if (mode !== undefined && (prev || mode === 'append')) {
      if (!prev) {
        this.report(origin.at, 'error', 'LANNER_RULE_UNDEFINED', `macro '${name}' is ${mode === 'append' ? 'appended to' : 'replaced'} but not defined before`);
        return;
      }
      prev.condition = mode === 'append' ? [...prev.condition, seg] : [seg];
      prev.changedAt = this.itemCount;
      return;
    }
    if (prev) this.redefined('macro', name, prev.origin, origin);
    // A redefinition keeps the place of the first, as Falco keeps its index.
    this.macros.set(name, { name, condition: [seg], origin, definedAt: prev?.definedAt ?? this.itemCount, changedAt: this.itemCount });
  }

  private addRule(name: string, values: Map<string, { value: Node | null; at: SourceLocation }>, modes: Map<string, Mode> | 'legacy', origin: Origin): void {
    const prev = this.rules.get(name);
    const keys = [...values.keys()].filter((k) => k !== 'rule' && k !== 'override' && k !== 'append');
    if (modes === 'legacy') {
      if (!prev) {
        this.report(origin.at, 'error', 'LANNER_RULE_UNDEFINED', `rule '${name}' has append: true but no rule '${name}' is defined before`);
        return;
      }
      if (!values.has('condition') && !values.has('exceptions')) {
        this.report(origin.at, 'error', 'LANNER_RULE_OVERRIDE', `rule '${name}' has append: true but no 'condition' or 'exceptions' to append`);
        return;
      }
      for (const k of keys) {
        if (k !== 'condition' && k !== 'exceptions') {
          this.report(values.get(k)!.at, 'warning', 'LANNER_RULE_OVERRIDE', `'${k}' is ignored with append: true, as in Falco: only condition and exceptions are appended; use override: to change '${k}'`);
        }
      }
      this.applyRuleKeys(prev, values, new Map([['condition', 'append'], ['exceptions', 'append']]), origin);
      prev.refinements.push(origin);
      return;
    }
    if (modes.size > 0) {
      if (!prev) {
        this.report(origin.at, 'error', 'LANNER_RULE_UNDEFINED', `rule '${name}' has an override but no rule '${name}' is defined before`);
        return;
      }
      this.applyRuleKeys(prev, values, modes, origin);
      prev.refinements.push(origin);
      return;
    }
    // `- rule: X` with `enabled:` and none of condition, output, desc, priority switches an
    // existing rule, as Falco allows; Falco ignores any other key there.
    if (values.has('enabled') && !['condition', 'output', 'desc', 'priority'].some((k) => values.has(k))) {
      if (!prev) {
        this.report(origin.at, 'error', 'LANNER_RULE_UNDEFINED', `rule '${name}' only sets 'enabled' but no rule '${name}' is defined before`);
        return;
      }
      for (const k of keys) {
        if (k !== 'enabled') this.report(values.get(k)!.at, 'warning', 'LANNER_RULE_OVERRIDE', `'${k}' is ignored: an item that sets 'enabled' without a condition, output, desc or priority only switches the rule, as in Falco; use override: to change '${k}'`);
      }
      this.applyRuleKeys(prev, values, new Map([['enabled', 'replace']]), origin);
      prev.refinements.push(origin);
      return;
    }
    const stateful = STATEFUL_KEYS.some((k) => values.has(k));
    const required = stateful ? ['output', 'priority'] : ['condition', 'output', 'priority'];
    const missing = required.filter((k) => !values.has(k));
    if (missing.length > 0) {
      this.report(origin.at, 'error', 'LANNER_RULE_SCHEMA', `rule '${name}' has no ${missing.map((k) => `'${k}'`).join(', ')}`);
      return;
    }
    if (!values.has('desc')) this.report(origin.at, 'warning', 'LANNER_RULE_SCHEMA', `rule '${name}' has no 'desc'`);
    const rule: RuleEntry = {
      name, condition: undefined, output: [], desc: '', priority: 'Debug', tags: [], enabled: true, source: 'syscall',
      exceptions: [], runbook: undefined, actions: undefined, stateful: {}, extra: {}, origin, refinements: [],
    };
    const replaceAll = new Map(keys.map((k) => [k, 'replace' as Mode]));
    this.applyRuleKeys(rule, values, replaceAll, origin);
    if (prev && prev.source !== rule.source) {
      this.report(origin.at, 'error', 'LANNER_RULE_REDEFINED', `rule '${name}' is defined again with source '${rule.source}' (first at ${prev.origin.at.file}:${prev.origin.at.line} with source '${prev.source}'): Falco refuses a rule re-defined with another source`);
      return;
    }
    if (prev) this.redefined('rule', name, prev.origin, origin);
    // A redefinition replaces the rule but keeps its place, as Falco keeps its index.
    this.rules.set(name, rule);
  }

  private applyRuleKeys(
    rule: RuleEntry,
    values: Map<string, { value: Node | null; at: SourceLocation }>,
    modes: ReadonlyMap<string, Mode>,
    origin: Origin,
  ): void {
    for (const [key, mode] of modes) {
      const v = values.get(key);
      if (!v) continue;
      const append = mode === 'append';
      switch (key) {
        case 'condition': {
          const seg = this.segment(v, origin, key);
          if (seg) rule.condition = append && rule.condition ? [...rule.condition, seg] : [seg];
          break;
        }
        case 'output': {
          const seg = this.segment(v, origin, key);
          if (seg) rule.output = append ? [...rule.output, seg] : [seg];
          break;
        }
        case 'desc': {
          const text = scalarText(v.value);
          if (text === undefined) this.report(v.at, 'error', 'LANNER_RULE_SCHEMA', "'desc' must be a string");
          else rule.desc = append && rule.desc ? `${rule.desc} ${text}` : text;
          break;
        }
        case 'priority': {
          const text = scalarText(v.value);
          const p = text === undefined ? undefined : parsePriority(text);
          if (!p) {
            this.report(v.at, 'error', 'LANNER_RULE_BAD_PRIORITY', `priority '${text ?? ''}' is not one of emergency, alert, critical, error, warning, notice, informational, debug`);
          } else rule.priority = p;
          break;
        }
        case 'tags': {
          const tags = this.stringList(v, 'tags');
          if (tags) rule.tags = append ? [...new Set([...rule.tags, ...tags])] : tags;
          break;
        }
        case 'enabled': {
          const b = parseBool(scalarText(v.value) ?? '');
          if (b === undefined) this.report(v.at, 'error', 'LANNER_RULE_SCHEMA', "'enabled' must be true or false");
          else rule.enabled = b;
          break;
        }
        case 'source': {
          const text = scalarText(v.value);
          if (!text) this.report(v.at, 'error', 'LANNER_RULE_SCHEMA', "'source' must be a string");
          else rule.source = text;
          break;
        }
        case 'exceptions': {
          const ex = readExceptions(v.value, origin.src, this.problems);
          rule.exceptions = append ? mergeExceptions(rule.exceptions, ex, this.problems) : ex;
          break;
        }
        case 'runbook': {
          const text = scalarText(v.value);
          if (!text) this.report(v.at, 'error', 'LANNER_RULE_SCHEMA', "'runbook' must be a string (a URL)");
          else rule.runbook = text;
          break;
        }
        case 'actions': {
          const actions = this.stringList(v, 'actions');
          if (actions) rule.actions = append && rule.actions ? [...rule.actions, ...actions] : actions;
          break;
        }
        case 'sequence':
        case 'threshold':
        case 'baseline':
          rule.stateful[key] = { value: toPlain(v.value), node: v.value, at: v.at };
          break;
        default:
          rule.extra[key] = toPlain(v.value);
      }
    }
  }
}
