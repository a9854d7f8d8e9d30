import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENVIRONMENT_VARIABLES, loadConfig } from '../../src/config/config.js';
import { LannerError } from '../../src/core/errors.js';
import { falcoGrpcDescriptor } from '../../src/ingest/falco-grpc.js';
import { httpIngestDescriptor } from '../../src/ingest/http-receiver.js';
import { REPO_ROOT } from '../support/shared.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

function file(text: string): string {
  const dir = tempDir('config');
  const path = join(dir, 'lanner.yaml');
  writeFileSync(path, text);
  return path;
}

function problemsOf(fn: () => unknown): { code: string; problems: readonly string[] } {
  try {
    fn();
  } catch (err) {
    if (err instanceof LannerError) return { code: err.code, problems: err.problems };
    throw err;
  }
  throw new Error('expected a LannerError');
}

describe('loadConfig', () => {
  it('has working defaults with units resolved', () => {
    const c = loadConfig({ env: {} });
    expect(c.server.listen).toBe('127.0.0.1:9376');
    expect(c.sources).toEqual([]);
    expect(c.ingest.queueSize).toBe(65536);
    // Each source's block takes its defaults from its own descriptor, units resolved.
    const grpc = falcoGrpcDescriptor.options.parse({}) as { poll_interval: number; backoff: unknown };
    expect(grpc.poll_interval).toBe(1000);
    expect(grpc.backoff).toEqual({ initial: 500, max: 30_000, reset_after: 60_000 });
    expect((httpIngestDescriptor.options.parse({}) as { body_limit: number }).body_limit).toBe(1024 * 1024);
    expect(c.shutdownGraceMs).toBe(5000);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads the file, then LANNER_* overrides, then flags', () => {
    const path = file('falco:\n  grpc:\n    address: unix:///run/falco/falco.sock\n    poll_interval: 250ms\ningest:\n  http:\n    listen: 0.0.0.0:9377\n');
    const rulesA = file('');
    const rulesB = file('');
    const c = loadConfig({
      file: path,
      env: { LANNER_INGEST_HTTP_LISTEN: '127.0.0.1:9999', LANNER_INGEST_QUEUE_SIZE: '100', LANNER_RULES: `${rulesA}, ${rulesB}` },
      overrides: { 'server.listen': '127.0.0.1:19376' },
    });
    expect(c.sources.map((s) => `${s.kind}: ${s.label}`)).toEqual([
      'falco-grpc: Falco gRPC unix:///run/falco/falco.sock (sub, every 250ms)',
      'http: HTTP ingest on 127.0.0.1:9999/',
    ]);
    expect(c.ingest.queueSize).toBe(100);
    expect(c.rules).toEqual([rulesA, rulesB]);
    expect(c.server.listen).toBe('127.0.0.1:19376');
  });

  it('reports every problem at once, naming key, value and what is allowed', () => {
    const path = file(
      'falco:\n  grpc:\n    adress: x\n    mode: push\n    poll_interval: soon\ningest:\n  http:\n    listen: nowhere\nserver:\n  listen: 127.0.0.1:99999\noutputs:\n  - type: carrier-pigeon\n  - type: stdout\n    format: xml\n',
    );
    const { code, problems } = problemsOf(() => loadConfig({ file: path, env: { LANNER_NOPE: '1' } }));
    expect(code).toBe('LANNER_CONFIG_INVALID');
    const text = problems.join('\n');
    expect(text).toContain('falco.grpc.adress: unknown key');
    expect(text).toMatch(/falco\.grpc\.mode: "push" is invalid: expected one of "sub", "get"/);
    expect(text).toMatch(/falco\.grpc\.poll_interval: "soon" is invalid: expected a duration/);
    expect(text).toMatch(/ingest\.http\.listen: "nowhere" is invalid: expected HOST:PORT/);
    expect(text).toMatch(/server\.listen: "127\.0\.0\.1:99999" is invalid/);
    expect(text).toContain('LANNER_NOPE: unknown environment override (each config key is one variable');
    expect(problems.length).toBeGreaterThanOrEqual(6);
  });

  it('suggests the override a misspelt environment variable was meant to be, and only a near one', () => {
    const problemsFor = (env: Record<string, string>): string => problemsOf(() => loadConfig({ env })).problems.join('\n');
    expect(problemsFor({ LANNER_INGEST_HTTP_LISTN: '127.0.0.1:1' })).toContain('LANNER_INGEST_HTTP_LISTN: unknown environment override; did you mean LANNER_INGEST_HTTP_LISTEN?');
    expect(problemsFor({ LANNER_SERVER_MAX_CONECTIONS: '5' })).toContain('did you mean LANNER_SERVER_MAX_CONNECTIONS?');
    expect(problemsFor({ LANNER_SOMETHING_ELSE_ENTIRELY: '1' })).not.toContain('did you mean');
  });

  it('refuses key combinations that cannot work', () => {
    const { problems } = problemsOf(() =>
      loadConfig({ env: {}, overrides: { 'falco.grpc.address': 'falco:5060', 'ingest.http.tls.client_auth': true, 'ingest.http.tls.cert': 'c.pem' } }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^falco\.grpc\.tls\.ca: is required: Falco serves gRPC over TCP only with mutual TLS/),
        expect.stringMatching(/^falco\.grpc\.tls\.key: is required/),
        expect.stringMatching(/^ingest\.http\.tls: cert and key go together/),
        expect.stringMatching(/^ingest\.http\.tls\.ca: is required when client_auth is true/),
      ]),
    );
    expect(problemsOf(() => loadConfig({ env: {}, overrides: { rules: ['no/such/rules.yaml'] } })).problems).toEqual(
      ['rules.0: "no/such/rules.yaml" is invalid: no such file or directory'],
    );
  });

  it('validates output blocks through their descriptors', () => {
    const path = file('outputs:\n  - type: carrier-pigeon\n  - type: stdout\n    format: xml\n');
    const { problems } = problemsOf(() => loadConfig({ file: path, env: {} }));
    expect(problems).toContain('outputs.0.type: "carrier-pigeon" is not a known output type');
    expect(problems.some((p) => p.startsWith('outputs.1.format: "xml" is not one of'))).toBe(true);
  });

  it('names the file, line and column of YAML errors', () => {
    const path = file('falco:\n  grpc: [unclosed\n');
    try {
      loadConfig({ file: path, env: {} });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(LannerError);
      expect((err as LannerError).code).toBe('LANNER_CONFIG_READ');
      expect((err as LannerError).message).toMatch(new RegExp(`${path.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
    }
  });

  it('documents every key with its default in lanner.example.yaml', () => {
    const documented = loadConfig({ file: join(REPO_ROOT, 'lanner.example.yaml'), env: {} });
    expect(documented).toEqual(loadConfig({ env: {} }));
    const leaves = (node: unknown, prefix: string): string[] =>
      typeof node === 'object' && node !== null && !Array.isArray(node)
        ? Object.entries(node).flatMap(([k, v]) => leaves(v, `${prefix}_${k}`))
        : [prefix.toUpperCase()];
    const example = parse(readFileSync(join(REPO_ROOT, 'lanner.example.yaml'), 'utf8')) as unknown;
    expect(leaves(example, 'LANNER').sort()).toEqual([...ENVIRONMENT_VARIABLES].sort());
  });

  it('bounds event time 5m ahead of the clock by default; ingest.max_future_skew is a duration of at least 1s', () => {
    expect(loadConfig({ env: {} }).ingest.maxFutureSkewMs).toBe(300_000);
    expect(loadConfig({ file: file('ingest:\n  max_future_skew: 30s\n'), env: {} }).ingest.maxFutureSkewMs).toBe(30_000);
    expect(loadConfig({ env: { LANNER_INGEST_MAX_FUTURE_SKEW: '1h' } }).ingest.maxFutureSkewMs).toBe(3_600_000);
    expect(loadConfig({ env: {}, overrides: { 'ingest.max_future_skew': '1s' } }).ingest.maxFutureSkewMs).toBe(1000);
    expect(loadConfig({ env: {}, overrides: { 'ingest.max_future_skew': '1001ms' } }).ingest.maxFutureSkewMs).toBe(1001);
    for (const bad of ['999ms', '0s', 'soon', -5]) {
      const { code, problems } = problemsOf(() => loadConfig({ env: {}, overrides: { 'ingest.max_future_skew': bad } }));
      expect(code, String(bad)).toBe('LANNER_CONFIG_INVALID');
      expect(problems.join('\n'), String(bad)).toContain('ingest.max_future_skew');
    }
  });

  it('derives one environment variable per key path', () => {
    expect(ENVIRONMENT_VARIABLES).toContain('LANNER_FALCO_GRPC_ADDRESS');
    expect(ENVIRONMENT_VARIABLES).toContain('LANNER_FALCO_GRPC_TLS_SERVER_NAME');
    expect(ENVIRONMENT_VARIABLES).toContain('LANNER_SERVER_LISTEN');
    expect(new Set(ENVIRONMENT_VARIABLES).size).toBe(ENVIRONMENT_VARIABLES.length);
  });
});

describe('hostile config files', () => {
  it('refuses a key that would reach the prototype, and leaves Object.prototype alone', () => {
    const path = file('__proto__:\n  polluted: yes\n');
    const err = (() => {
      try {
        loadConfig({ file: path, env: {} });
      } catch (e) {
        return e as LannerError;
      }
      throw new Error('expected a refusal');
    })();
    expect(err.code).toBe('LANNER_CONFIG_READ');
    expect(err.message).toContain('"__proto__"');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('refuses a config path that is not a regular file, at once', () => {
    expect(() => loadConfig({ file: '/dev/zero', env: {} })).toThrow(/config file \/dev\/zero/);
  });
});
