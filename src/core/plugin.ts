/**
 * What every plug-in kind (source, output, responder, stateful matcher) says about itself. A
 * descriptor sits next to the plug-in's code and is registered in its kind's one list; config
 * validation, `lanner check`, the RBAC a config needs, `lanner plugins` and the reference tables
 * in docs/plugins.md are all derived from descriptors, so a plug-in cannot be half-registered.
 */
import { z } from 'zod';

export type PluginKind = 'source' | 'output' | 'responder' | 'stateful';

/** One rule of a Kubernetes ClusterRole. */
export interface PermissionRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** What a plug-in needs from where it runs, so an operator can grant it before a rollout. */
export interface PluginNeeds {
  /** Kubernetes API permissions. */
  readonly rbac?: readonly PermissionRule[];
  /** Addresses it listens on or connects to, each naming the config key that sets it. */
  readonly ports?: readonly string[];
  /** Files it reads or writes, each naming the config key that sets it. */
  readonly files?: readonly string[];
}

export interface PluginDescriptor {
  readonly kind: PluginKind;
  /** The name a config or a rule uses for it. */
  readonly name: string;
  /** One line: what it does. */
  readonly summary: string;
  /** A YAML example of its config. */
  readonly example: string;
  /**
   * The one description of its config keys: types, defaults (as a person writes them, with
   * units: "5s", "1MiB") and a `.describe()` for every key. Validation uses it as it is.
   */
  readonly options: z.ZodType;
  readonly needs: PluginNeeds;
}

/** One row of a plug-in's reference table. */
export interface OptionRow {
  readonly key: string;
  readonly type: string;
  readonly default: string;
  readonly description: string;
}

interface JsonSchema {
  type?: string | string[];
  /** `duration` or `size` for values people write with units ("5s", "1MiB"). */
  format?: string;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
}

/** The keys of an option schema as rows, nested keys by dotted path, in declaration order. */
export function optionRows(schema: z.ZodType): OptionRow[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: OptionRow[] = [];
  const visit = (node: JsonSchema, prefix: string): void => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      const object = objectOf(child);
      if (object && Object.keys(object.properties ?? {}).length > 0) {
        if (child.description) rows.push({ key: path, type: 'mapping', default: '', description: child.description });
        visit(object, path);
        continue;
      }
      rows.push({ key: path, type: typeOf(child), default: child.default === undefined ? '' : render(child.default), description: child.description ?? '' });
      // A list of mappings (a sequence's steps) documents the keys of its items too.
      const items = child.type === 'array' && child.items ? objectOf(child.items) : undefined;
      if (items) visit(items, `${path}[]`);
    }
  };
  visit(objectOf(json) ?? json, '');
  return rows;
}

function objectOf(node: JsonSchema): JsonSchema | undefined {
  if (node.properties) return node;
  for (const alt of [...(node.anyOf ?? []), ...(node.oneOf ?? [])]) if (alt.properties) return alt;
  return undefined;
}

function typeOf(node: JsonSchema): string {
  if (node.format === 'duration' || node.format === 'size') return node.format;
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  const alts = node.anyOf ?? node.oneOf;
  if (alts) return [...new Set(alts.map(typeOf))].join(' or ');
  if (node.type === 'array') return `list of ${node.items ? typeOf(node.items) : 'any'}`;
  if (Array.isArray(node.type)) return node.type.join(' or ');
  if (node.type === 'object') return 'mapping';
  return node.type ?? 'any';
}

function render(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '""' : value;
  return JSON.stringify(value);
}

/**
 * The defaults of an option schema as a person writes them ("5s", not 5000): a mapping for an
 * object schema, the default for a leaf. Config files and LANNER_* overrides start from these.
 * With `every`, a key without a default is an error naming it: a config block whose keys all
 * have defaults (a source's, the actions block) must not lose one silently.
 */
export function defaultsOf(schema: z.ZodType, options: { readonly every?: boolean } = {}): unknown {
  return defaultOfNode(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, '', options.every === true);
}

function defaultOfNode(node: JsonSchema, path: string, every: boolean): unknown {
  const object = objectOf(node);
  if (object && Object.keys(object.properties ?? {}).length > 0) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(object.properties ?? {})) {
      const value = defaultOfNode(child, path ? `${path}.${key}` : key, every);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  if (node.default === undefined && every) throw new Error(`${path} has no default`);
  return node.default === undefined ? undefined : structuredClone(node.default);
}
