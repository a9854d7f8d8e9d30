import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESPONDERS } from '../../src/actions/registry.js';
import { pluginList, pluginReference } from '../../src/cli/plugins.js';
import { optionRows, type PluginDescriptor } from '../../src/core/plugin.js';
import { STATEFUL_KINDS } from '../../src/detect/stateful/registry.js';
import { SOURCES } from '../../src/ingest/registry.js';
import { OUTPUTS } from '../../src/outputs/registry.js';
import { REPO_ROOT } from '../support/shared.js';

const KINDS: [string, readonly PluginDescriptor[]][] = [
  ['source', SOURCES],
  ['output', OUTPUTS],
  ['responder', RESPONDERS],
  ['stateful', STATEFUL_KINDS],
];

describe('plug-in descriptors', () => {
  it.each(KINDS)('%s: each registered once, under its own kind, with a summary and an example', (kind, list) => {
    const names = list.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const d of list) {
      expect(d.kind, d.name).toBe(kind);
      expect(d.summary.length, d.name).toBeGreaterThan(20);
      expect(d.example.trim(), d.name).not.toBe('');
    }
  });

  it.each(KINDS)('%s: every config key says what it means', (_kind, list) => {
    const undocumented = list.flatMap((d) => optionRows(d.options).filter((r) => r.description.trim() === '').map((r) => `${d.name}: ${r.key}`));
    expect(undocumented).toEqual([]);
  });

  it('docs/plugins.md is the reference the descriptors generate (refresh: lanner plugins --markdown > docs/plugins.md)', () => {
    expect(readFileSync(join(REPO_ROOT, 'docs', 'plugins.md'), 'utf8')).toBe(pluginReference());
  });

  it('lists every plug-in by name, and the reference has a table row for each source key', () => {
    const list = pluginList();
    for (const [, descriptors] of KINDS) for (const d of descriptors) expect(list).toContain(`  ${d.name}`);
    const reference = pluginReference();
    expect(reference).toContain('| `address` | string | `""` |');
    expect(reference).toContain('| `backoff.initial` | duration | `500ms` |');
    expect(reference).toContain('| `body_limit` | size | `1MiB` |');
  });
});
