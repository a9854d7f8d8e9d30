/**
 * The layering docs/architecture.md describes, checked against the code: every folder of src/
 * is listed there, imports only go to folders listed above the importer's (or its own), and no
 * files import each other, however indirectly. The order is read from the document itself, so
 * the two cannot drift apart.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/shared.js';

const SRC = join(REPO_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of a file (static, dynamic and type-only), as absolute .ts paths. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)) {
    out.push(normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
  }
  return out;
}

/** The room (top folder under src/) of a file. */
function roomOf(file: string): string {
  return relative(SRC, file).split('/')[0]!;
}

/** The rooms in the order of the table under "## Rooms" in docs/architecture.md, lowest first. */
function documentedLayers(): string[] {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Rooms'), doc.indexOf('## Where a change goes'));
  return [...section.matchAll(/^\| `([a-z-]+)\/` \|/gm)].map((m) => m[1]!);
}

/** Upward imports: an importer in a lower room reaching into a higher one. */
export function upwardImports(graph: ReadonlyMap<string, readonly string[]>, layers: readonly string[]): string[] {
  const rank = new Map(layers.map((l, i) => [l, i]));
  const found: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const from = rank.get(roomOf(file));
      const to = rank.get(roomOf(target));
      if (from === undefined || to === undefined || to > from) found.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
    }
  }
  return found;
}

/** Every import cycle, each as the chain of files that closes it. */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(SRC, f)).join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

describe('architecture', () => {
  const files = sourceFiles(SRC);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const layers = documentedLayers();

  it('lists every folder of src/ in docs/architecture.md', () => {
    const rooms = [...new Set(files.map(roomOf))].filter((r) => !r.endsWith('.ts')).sort();
    expect([...layers].sort()).toEqual(rooms);
  });

  it('imports only downwards, in the order docs/architecture.md gives', () => {
    expect(upwardImports(graph, layers)).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('every import names a file that exists', () => {
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((t) => !graph.has(t)).map((t) => `${relative(SRC, file)} -> ${relative(SRC, t)}`));
    expect(missing).toEqual([]);
  });

  // The checks above must be able to fail: the same functions on graphs built to break them.
  it('catches an upward import and a cycle when there is one', () => {
    const f = (p: string): string => join(SRC, p);
    const bad = new Map<string, string[]>([
      [f('core/a.ts'), [f('cli/b.ts')]],
      [f('cli/b.ts'), [f('core/a.ts')]],
      [f('rules/c.ts'), [f('core/a.ts')]],
    ]);
    expect(upwardImports(bad, ['core', 'rules', 'cli'])).toEqual(['core/a.ts imports cli/b.ts']);
    expect(importCycles(bad)).toEqual(['core/a.ts -> cli/b.ts -> core/a.ts']);
    expect(importsOf(f('x/y.ts'), "import type { A } from '../core/a.js';\nconst m = await import('./m.js');\nimport './side.js';\n")).toEqual([
      f('core/a.ts'),
      f('x/m.ts'),
      f('x/side.ts'),
    ]);
  });
});
