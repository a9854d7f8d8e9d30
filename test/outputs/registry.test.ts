import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ConditionCompiler } from '../../src/alerts/condition.js';
import { optionRows } from '../../src/core/plugin.js';
import { OUTPUTS, findOutput } from '../../src/outputs/registry.js';
import { TEST_CONTEXT } from './parse-context.js';

/** The least each output needs besides its type. */
const MINIMAL: Readonly<Record<string, Record<string, unknown>>> = {
  stdout: {},
  file: { path: '/tmp/lanner-alerts.jsonl' },
  webhook: { url: 'https://soar.example.com/hook' },
  syslog: { host: 'syslog.example.com' },
  splunk_hec: { url: 'https://splunk.example.com:8088', token: 't' },
  elasticsearch: { url: 'https://es.example.com:9200' },
  loki: { url: 'http://loki:3100' },
  kafka: { brokers: ['kafka:9092'], topic: 'lanner-alerts' },
};

const minimalBlock = (name: string): Record<string, unknown> => structuredClone({ type: name, ...MINIMAL[name] });

/** A documented default back as a person would write it in YAML: JSON when it reads as JSON. */
function asWritten(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Sets `path` in `block`, creating the mappings above it. */
function setPath(block: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = block;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function valueAt(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);
}

describe('output registry', () => {
  it('lists every output kind once, each a described output plug-in with a YAML example its options accept', () => {
    expect(OUTPUTS.map((d) => d.name)).toEqual(['stdout', 'file', 'webhook', 'syslog', 'splunk_hec', 'elasticsearch', 'loki', 'kafka']);
    for (const d of OUTPUTS) {
      expect(d.kind).toBe('output');
      expect(d.type, d.name).toBe(d.name);
      expect(findOutput(d.name)).toBe(d);
      expect(d.summary.length).toBeGreaterThan(10);
      const [block] = parse(d.example) as Record<string, unknown>[];
      expect(block!['type']).toBe(d.name);
      const checked = d.options.safeParse(block);
      expect(checked.success ? 'valid' : checked.error.issues, d.name).toBe('valid');
    }
    expect(findOutput('carrier-pigeon')).toBeUndefined();
  });

  it('describes every key of every output, the shared ones and their mappings included', () => {
    for (const d of OUTPUTS) {
      const rows = optionRows(d.options);
      const keys = rows.map((r) => r.key);
      for (const row of rows) expect(row.description, `${d.name}: ${row.key}`).not.toBe('');
      // A nested key's mapping is a row of its own only when it is described.
      for (const key of keys.filter((k) => k.includes('.'))) expect(keys, `${d.name}: ${key}`).toContain(key.slice(0, key.lastIndexOf('.')));
      expect(keys).toEqual(expect.arrayContaining(['type', 'name', 'format']));
    }
    const queued = OUTPUTS.filter((d) => d.name !== 'stdout');
    for (const d of queued) {
      expect(optionRows(d.options).map((r) => r.key), d.name).toEqual(
        expect.arrayContaining([
          'min_priority',
          'route.rules',
          'route.tags',
          'route.namespaces',
          'route.condition',
          'batch.max_size',
          'batch.interval',
          'queue.max_size',
          'queue.shed',
          'retry.max_retries',
          'retry.initial_backoff',
          'retry.max_backoff',
          'timeout',
          'close_timeout',
        ]),
      );
    }
    for (const d of queued.filter((q) => q.name !== 'file')) {
      expect(optionRows(d.options).map((r) => r.key), d.name).toEqual(
        expect.arrayContaining(['tls.ca', 'tls.cert', 'tls.key', 'tls.server_name', 'tls.insecure_skip_verify']),
      );
    }
  });

  it('documents defaults as a person writes them, sized for each receiver', () => {
    const defaults = (name: string) => Object.fromEntries(optionRows(findOutput(name)!.options).map((r) => [r.key, r.default]));
    const sizing = Object.fromEntries(
      OUTPUTS.filter((d) => d.name !== 'stdout').map((d) => {
        const rows = defaults(d.name);
        return [d.name, [rows['batch.max_size'], rows['batch.interval'], rows['queue.max_size']]];
      }),
    );
    expect(sizing).toEqual({
      file: ['100', '200ms', '10000'],
      webhook: ['50', '1s', '10000'],
      syslog: ['100', '500ms', '10000'],
      splunk_hec: ['100', '1s', '10000'],
      elasticsearch: ['500', '2s', '10000'],
      loki: ['200', '1s', '10000'],
      kafka: ['500', '500ms', '10000'],
    });
    expect(defaults('webhook')).toMatchObject({ min_priority: 'Debug', 'retry.initial_backoff': '500ms', 'retry.max_backoff': '30s', timeout: '10s', close_timeout: '4s' });
    expect(defaults('file')['max_size']).toBe('100MiB');
    expect(defaults('stdout')).toMatchObject({ format: 'json', max_backlog_bytes: '16MiB' });
    const types = (name: string) => Object.fromEntries(optionRows(findOutput(name)!.options).map((r) => [r.key, r.type]));
    expect(types('kafka')).toMatchObject({ 'batch.interval': 'duration', 'retry.initial_backoff': 'duration', 'retry.max_backoff': 'duration', timeout: 'duration', close_timeout: 'duration' });
    expect([types('file')['max_size'], types('stdout')['max_backlog_bytes']]).toEqual(['size', 'size']);
  });

  it('applies exactly the defaults it documents: leaving a key out equals writing its documented default', () => {
    let compared = 0;
    for (const d of OUTPUTS) {
      for (const row of optionRows(d.options)) {
        if (row.default === '') continue;
        // A mapping without a default of its own (tls) must be given for its keys' defaults to apply.
        const omitted = minimalBlock(d.name);
        const parent = row.key.split('.').slice(0, -1).join('.');
        if (parent && valueAt(d.options.parse(omitted), parent) === undefined) setPath(omitted, parent, {});
        const written = structuredClone(omitted);
        setPath(written, row.key, asWritten(row.default));
        const applied = d.options.safeParse(omitted);
        const explicit = d.options.safeParse(written);
        expect(applied.success && explicit.success, `${d.name}: ${row.key}`).toBe(true);
        expect(applied.data, `${d.name}: ${row.key} = ${row.default}`).toEqual(explicit.data);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(OUTPUTS.length * 10);
  });

  it('validates with its documented options: a minimal block of each type is accepted, an unknown key refused', () => {
    for (const d of OUTPUTS) {
      const r = d.parse(minimalBlock(d.name), TEST_CONTEXT);
      expect(r.ok ? 'ok' : r.problems, d.name).toBe('ok');
      expect(d.options.safeParse(minimalBlock(d.name)).success, d.name).toBe(true);
      expect(d.parse({ ...minimalBlock(d.name), colour: 'blue' }, TEST_CONTEXT)).toEqual({ ok: false, problems: ['colour: unknown key'] });
    }
  });

  it('reports every problem of a block at once, unknown keys included', () => {
    const r = findOutput('splunk_hec')!.parse(
      {
        type: 'splunk_hec',
        url: 'ftp://nope',
        min_priority: 'loud',
        batch: { max_size: 0 },
        queue: { shed: 'middle' },
        retry: { initial_backoff: 'soon' },
        colour: 'blue',
      },
      TEST_CONTEXT,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const keys = r.problems.map((p) => p.split(':')[0]);
    expect(keys).toEqual(expect.arrayContaining(['url', 'min_priority', 'batch.max_size', 'queue.shed', 'retry.initial_backoff', 'colour']));
  });

  it('needs a token for HEC', () => {
    const hec = findOutput('splunk_hec')!.parse({ type: 'splunk_hec', url: 'https://splunk:8088' }, TEST_CONTEXT);
    expect(hec).toEqual({ ok: false, problems: ['token: is required (or token_file)'] });
  });

  it('stdout keeps its own format names and says which are allowed', () => {
    expect(findOutput('stdout')!.parse({ type: 'stdout', format: 'xml' }, TEST_CONTEXT)).toEqual({
      ok: false,
      problems: ['format: "xml" is not one of json, pretty, auto, native, ecs, ocsf, cef, syslog'],
    });
    expect(findOutput('stdout')!.parse({ type: 'stdout', format: 'pretty', max_backlog_bytes: '1MiB' }, TEST_CONTEXT).ok).toBe(true);
    expect(findOutput('stdout')!.parse({ type: 'stdout', max_backlog_bytes: 0 }, TEST_CONTEXT).ok).toBe(false);
  });
});

describe('route conditions', () => {
  const routed = OUTPUTS.filter((d) => optionRows(d.options).some((r) => r.key === 'route.condition'));

  it('every output but stdout takes one', () => {
    expect(OUTPUTS.filter((d) => !routed.includes(d)).map((d) => d.name)).toEqual(['stdout']);
  });

  it('are compiled by the compiler of the parse context, whose problem is reported under route.condition', () => {
    for (const d of routed) {
      const seen: string[] = [];
      const refusing: ConditionCompiler = (source) => {
        seen.push(source);
        return { ok: false, problem: 'unknown field nope.field at 1:1' };
      };
      const block = { ...minimalBlock(d.name), route: { condition: 'nope.field = 1' } };
      expect(d.parse(block, { conditions: refusing }), d.name).toEqual({ ok: false, problems: ['route.condition: unknown field nope.field at 1:1'] });
      expect(seen, d.name).toEqual(['nope.field = 1']);
    }
  });

  it('a condition the context compiles is accepted, and none is compiled when there is no condition', () => {
    for (const d of routed) {
      const r = d.parse({ ...minimalBlock(d.name), route: { condition: 'k8s.ns.name = shop' } }, TEST_CONTEXT);
      expect(r.ok ? 'ok' : r.problems, d.name).toBe('ok');
      const never: ConditionCompiler = () => {
        throw new Error('compiled without a condition');
      };
      expect(d.parse(minimalBlock(d.name), { conditions: never }).ok, d.name).toBe(true);
    }
  });
});
