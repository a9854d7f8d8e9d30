import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OUTPUTS, findOutput } from '../../src/outputs/registry.js';

describe('output registry', () => {
  it('lists every output kind once, each with a description and a YAML example of its own type', () => {
    expect(OUTPUTS.map((d) => d.type)).toEqual(['stdout', 'file', 'webhook', 'syslog', 'splunk_hec', 'elasticsearch', 'loki', 'kafka']);
    for (const d of OUTPUTS) {
      expect(d.description.length).toBeGreaterThan(10);
      const [block] = parse(d.example) as Record<string, unknown>[];
      expect(block!['type']).toBe(d.type);
    }
  });

  it('reports every problem of a block at once, unknown keys included', () => {
    const r = findOutput('splunk_hec')!.parse({
      type: 'splunk_hec',
      url: 'ftp://nope',
      min_priority: 'loud',
      batch: { max_size: 0 },
      queue: { shed: 'middle' },
      retry: { initial_backoff: 'soon' },
      colour: 'blue',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const keys = r.problems.map((p) => p.split(':')[0]);
    expect(keys).toEqual(expect.arrayContaining(['url', 'min_priority', 'batch.max_size', 'queue.shed', 'retry.initial_backoff', 'colour']));
  });

  it('needs a token for HEC and refuses route conditions until the rule engine provides a compiler', () => {
    const hec = findOutput('splunk_hec')!.parse({ type: 'splunk_hec', url: 'https://splunk:8088' });
    expect(hec).toEqual({ ok: false, problems: ['token: is required (or token_file)'] });
    const cond = findOutput('webhook')!.parse({ type: 'webhook', url: 'https://x', route: { condition: 'proc.name = sh' } });
    expect(cond.ok).toBe(false);
  });

  it('accepts a minimal block of each type', () => {
    const minimal: Record<string, Record<string, unknown>> = {
      stdout: {},
      file: { path: '/tmp/lanner-alerts.jsonl' },
      webhook: { url: 'https://soar.example.com/hook' },
      syslog: { host: 'syslog.example.com' },
      splunk_hec: { url: 'https://splunk.example.com:8088', token: 't' },
      elasticsearch: { url: 'https://es.example.com:9200' },
      loki: { url: 'http://loki:3100' },
      kafka: { brokers: ['kafka:9092'], topic: 'lanner-alerts' },
    };
    for (const d of OUTPUTS) {
      const r = d.parse({ type: d.type, ...minimal[d.type] });
      expect(r.ok ? 'ok' : r.problems, d.type).toBe('ok');
    }
  });
});
