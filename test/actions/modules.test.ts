/**
 * How the actions modules depend on each other, read from their import statements: no two
 * import each other (type imports count: a cycle is a cycle for the reader too), and what
 * validating a config loads (the options, the registry, every responder's file) never loads
 * the Kubernetes client, so `lanner check` and config loading stay light.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/shared.js';

const ACTIONS = join(REPO_ROOT, 'src', 'actions');

interface Import {
  /** A repository file (absolute .ts path) or a package name. */
  readonly target: string;
  /** Erased when compiled: nothing is loaded for it at run time. */
  readonly typeOnly: boolean;
}

const STATEMENT = /^(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*'([^']+)'|^import\s+'([^']+)'/gm;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(STATEMENT)) {
    const spec = m[4] ?? m[5]!;
    const clause = m[3] ?? '';
    const braces = /^\{([\s\S]*)\}$/.exec(clause.trim());
    const allTypes = braces !== null && braces[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '').every((s) => s.startsWith('type '));
    const target = spec.startsWith('.') ? resolve(dirname(file), spec.replace(/\.js$/, '.ts')) : spec;
    out.push({ target, typeOnly: m[2] !== undefined || allTypes });
  }
  return out;
}

/** Every file and package `entry` loads at run time, following value imports only. */
function loadedBy(entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    if (!next.endsWith('.ts')) continue;
    for (const i of importsOf(next)) if (!i.typeOnly) queue.push(i.target);
  }
  return seen;
}

/** Imports among `files` only, by file. */
function graphOf(files: readonly string[]): Map<string, string[]> {
  const inside = new Set(files);
  return new Map(files.map((f) => [relative(ACTIONS, f), importsOf(f).filter((i) => inside.has(i.target)).map((i) => relative(ACTIONS, i.target))]));
}

/** Every cycle found walking `edges`, each as the path that closes it. */
function cyclesIn(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (from: string): void => {
    state.set(from, 'open');
    path.push(from);
    for (const to of edges.get(from) ?? []) {
      if (state.get(to) === 'open') cycles.push([...path.slice(path.indexOf(to)), to]);
      else if (!state.has(to)) visit(to);
    }
    path.pop();
    state.set(from, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const actionFiles = readdirSync(ACTIONS)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(ACTIONS, f));

describe('the actions modules', () => {
  it('reads imports as the compiler does: type-only ones are erased', () => {
    const imports = importsOf(join(ACTIONS, 'responder.ts'));
    expect(imports).toContainEqual({ target: join(ACTIONS, 'kube-api.ts'), typeOnly: true });
    expect(imports).toContainEqual({ target: join(ACTIONS, 'request.ts'), typeOnly: false });
  });

  it('import one another without a cycle, type imports included', () => {
    const graph = graphOf(actionFiles);
    expect(graph.size).toBeGreaterThan(10);
    expect(graph.get('guardrails.ts')).toContain('request.ts');
    expect(cyclesIn(graph)).toEqual([]);
  });

  it('would name a cycle, such as the guardrails and the responder context importing each other', () => {
    const graph = new Map([
      ['guardrails.ts', ['responder.ts']],
      ['responder.ts', ['kube-api.ts', 'guardrails.ts']],
      ['kube-api.ts', []],
    ]);
    expect(cyclesIn(graph)).toEqual([['guardrails.ts', 'responder.ts', 'guardrails.ts']]);
  });

  it('load no Kubernetes client to validate a config, though the client implementation does', () => {
    const validating = loadedBy([join(ACTIONS, 'options.ts'), join(ACTIONS, 'registry.ts')]);
    for (const name of ['quarantine', 'pod-event', 'webhook', 'cordon', 'kill', 'delete-pod']) expect(validating, name).toContain(join(ACTIONS, `${name}.ts`));
    expect([...validating].filter((m) => m.startsWith('@kubernetes/'))).toEqual([]);
    expect(validating).not.toContain(join(ACTIONS, 'kube.ts'));
    expect(loadedBy([join(ACTIONS, 'kube.ts')])).toContain('@kubernetes/client-node');
  });
});
