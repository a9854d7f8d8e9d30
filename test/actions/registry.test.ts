/**
 * The responder registry is the one place responders are known: their config keys, defaults,
 * checks between keys, typed options and RBAC are derived from their descriptors. These tests
 * hold the derivation to what the descriptors declare, and to what config files already say.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ACTIONS_DEFAULTS, actionsOptionsFrom, actionsProblems, actionsSchema, defaultActionsOptions, RESPONDER_NAMES, type ActionsOptions, type ActionsParsed } from '../../src/actions/options.js';
import { distinct, findResponder, requiredPermissions, RESPONDERS } from '../../src/actions/registry.js';
import type { PermissionRule, ResponderDescriptor } from '../../src/actions/responder.js';
import { optionRows } from '../../src/core/plugin.js';
import { defaultsOf } from '../../src/core/plugin.js';

/** One line per group, resource and verb, however the rules are grouped. */
function grants(rules: readonly PermissionRule[]): string[] {
  return [...new Set(rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g || 'core'}/${res}:${v}`)))))].sort();
}

/** What the engine needs with every responder off: audit Events and the TTL release. */
const ENGINE_GRANTS = ['core/events:create', 'core/pods:get', 'core/pods:list', 'core/pods:patch'];

/** The options with exactly the named responders on. */
function withEnabled(names: readonly string[]): ActionsOptions {
  const base = defaultActionsOptions();
  const toggled = Object.fromEntries(RESPONDER_NAMES.map((n) => [n, { ...base[n], enabled: names.includes(n) }]));
  return { ...base, ...toggled };
}

function parsed(actions: Record<string, unknown>): ActionsParsed {
  return actionsSchema.parse({ ...structuredClone(ACTIONS_DEFAULTS), ...actions });
}

const block = (name: string): Record<string, unknown> => ACTIONS_DEFAULTS[name] as Record<string, unknown>;

describe('the responder registry', () => {
  it('lists the responders in the order they run for one alert', () => {
    expect(RESPONDERS.map((d) => d.name)).toEqual(['quarantine', 'event', 'webhook', 'cordon', 'kill', 'delete']);
    expect(RESPONDER_NAMES).toEqual(RESPONDERS.map((d) => d.name));
    expect(findResponder('cordon')?.targetKind).toBe('node');
    expect(findResponder('isolate')).toBeUndefined();
  });

  it('registers nothing twice', () => {
    expect(new Set(RESPONDERS.map((d) => d.name)).size).toBe(RESPONDERS.length);
    expect(new Set(RESPONDERS).size).toBe(RESPONDERS.length);
    const quarantine = findResponder('quarantine')!;
    expect(() => distinct([quarantine, findResponder('event')!, quarantine])).toThrow('the responder quarantine is registered twice');
    // Each block sits once under actions:, beside the engine's keys and never over one of them.
    const engineKeys = ['dry_run', 'kubeconfig', 'own_namespace', 'queue_size', 'namespaces', 'limits', 'profiles', 'rules'];
    expect(Object.keys(actionsSchema.shape)).toEqual([...engineKeys, ...RESPONDER_NAMES, 'api']);
  });

  it('describes each responder as a plug-in of kind responder, with an example its own schema accepts', () => {
    for (const d of RESPONDERS as readonly ResponderDescriptor[]) {
      expect(d.kind, d.name).toBe('responder');
      expect(d.summary, d.name).toMatch(/^[A-Z].{20,}\.$/);
      const example = parse(d.example) as Record<string, unknown>;
      expect(Object.keys(example), d.name).toEqual([d.name]);
      expect(d.options.safeParse(example[d.name]).success, d.name).toBe(true);
    }
  });
});

describe('responder option schemas', () => {
  it('document every key of every registered responder', () => {
    for (const d of RESPONDERS) {
      const rows = optionRows(d.options);
      expect(rows.length, d.name).toBeGreaterThan(0);
      for (const row of rows) expect(row.description, `actions.${d.name}.${row.key}`).toMatch(/\w{3,}/);
    }
  });

  it('document every key of the whole actions block, the engine keys too', () => {
    const undocumented = optionRows(actionsSchema).filter((r) => r.description.trim() === '');
    expect(undocumented.map((r) => r.key)).toEqual([]);
  });

  it('give every responder an enabled key with a default', () => {
    for (const d of RESPONDERS) {
      const enabled = optionRows(d.options).find((r) => r.key === 'enabled');
      expect(enabled, d.name).toMatchObject({ type: 'boolean' });
      expect(['true', 'false'], d.name).toContain(enabled!.default);
    }
  });

  it('refuse keys a responder does not have', () => {
    for (const d of RESPONDERS) expect(d.options.safeParse({ enabled: true, enabeld: true }).success, d.name).toBe(false);
  });
});

describe('ACTIONS_DEFAULTS', () => {
  it('holds, for each responder, the defaults its descriptor declares, key for key', () => {
    for (const d of RESPONDERS) {
      const rows = optionRows(d.options);
      expect(Object.keys(block(d.name)), d.name).toEqual(rows.map((r) => r.key));
      for (const row of rows) {
        const value = block(d.name)[row.key];
        const written = typeof value === 'string' ? (value === '' ? '""' : value) : JSON.stringify(value);
        expect(written, `actions.${d.name}.${row.key}`).toBe(row.default);
      }
      // Parsed, the defaults are the block's own: nothing in between changes them.
      expect(d.options.parse(block(d.name)), d.name).toEqual(d.options.parse({}));
    }
  });

  it('writes defaults as people do, units and all, and agrees with the schema left empty', () => {
    expect(block('quarantine')['ttl']).toBe('24h');
    expect(block('delete')['grace_period']).toBe('30s');
    expect(block('webhook')['timeout']).toBe('5s');
    expect((ACTIONS_DEFAULTS['limits'] as Record<string, unknown>)['cooldown']).toBe('15m');
    expect(actionsSchema.parse({})).toEqual(actionsSchema.parse(structuredClone(ACTIONS_DEFAULTS)));
  });

  it('cannot be derived from a key without a default: every key must have one to be overridden', () => {
    expect(() => defaultsOf(z.object({ ttl: z.string().default('1h'), limits: z.object({ window: z.string() }) }), { every: true })).toThrow('limits.window has no default');
    expect(defaultsOf(z.object({ ttl: z.string().default('1h'), limits: z.object({ window: z.string().default('10m') }).prefault({}) }))).toEqual({
      ttl: '1h',
      limits: { window: '10m' },
    });
  });

  it('keeps every key and default config files and LANNER_ACTIONS_* overrides already use', () => {
    expect(ACTIONS_DEFAULTS).toEqual({
      dry_run: true,
      kubeconfig: '',
      own_namespace: '',
      queue_size: 1000,
      namespaces: { allow: [], deny: [] },
      limits: {
        window: '10m',
        per_node: 5,
        per_kind: { pod: 10, node: 1, process: 10, external: 30 },
        cooldown: '15m',
        max_quarantined_pods: 10,
        max_cordoned_nodes: 1,
      },
      profiles: {},
      rules: {},
      quarantine: {
        enabled: true,
        ttl: '24h',
        sweep_interval: '1m',
        allow_dns: true,
        dns_namespace: 'kube-system',
        dns_pods: 'k8s-app=kube-dns',
        forensics_cidrs: [],
      },
      event: { enabled: true },
      cordon: { enabled: false },
      delete: { enabled: false, grace_period: '30s' },
      webhook: { enabled: false, url: '', secret: '', secret_file: '', signature_header: 'X-Lanner-Signature', timeout: '5s' },
      kill: { enabled: false, signal: 'SIGKILL', proc_root: '/proc' },
      api: { enabled: false, token: '', token_file: '' },
    });
  });
});

describe('typed actions options', () => {
  it('carry each responder its own typed block, units resolved', () => {
    const o = actionsOptionsFrom(
      parsed({
        quarantine: { ttl: '2h', dns_pods: 'k8s-app=kube-dns,tier=dns' },
        webhook: { enabled: true, url: 'https://soar.example.com/hook', secret_file: '/etc/lanner/secret', timeout: '750ms' },
        delete: { grace_period: '1m' },
        kill: { signal: 'SIGTERM' },
      }),
      (inline, file, key) => (file === '/etc/lanner/secret' && key === 'actions.webhook.secret_file' ? 'from-the-file' : inline || 't'),
      'security',
    );
    expect(o.quarantine).toMatchObject({ enabled: true, ttlMs: 7_200_000, sweepIntervalMs: 60_000, dnsPodLabels: { 'k8s-app': 'kube-dns', tier: 'dns' } });
    expect(o.webhook).toEqual({ enabled: true, url: 'https://soar.example.com/hook', secret: 'from-the-file', signatureHeader: 'X-Lanner-Signature', timeoutMs: 750 });
    expect(o.delete).toEqual({ enabled: false, gracePeriodMs: 60_000 });
    expect(o.kill).toEqual({ enabled: false, signal: 'SIGTERM', procRoot: '/proc' });
    expect(o.event).toEqual({ enabled: true });
    expect(o.cordon).toEqual({ enabled: false });
    expect([o.ownNamespace, o.api.token, o.limits.cooldownMs]).toEqual(['security', 't', 900_000]);
    expectTypeOf(o.quarantine.ttlMs).toEqualTypeOf<number>();
    expectTypeOf(o.webhook.url).toEqualTypeOf<string>();
    expectTypeOf(o.kill.signal).toEqualTypeOf<'SIGKILL' | 'SIGTERM' | 'SIGSTOP'>();
  });
});

describe('requiredPermissions', () => {
  it('with every responder off is what the engine alone needs', () => {
    expect(grants(requiredPermissions(withEnabled([])))).toEqual(ENGINE_GRANTS);
  });

  it('adds, for each responder turned on, what it declares and nothing else', () => {
    for (const d of RESPONDERS) {
      const expected = [...new Set([...ENGINE_GRANTS, ...grants(d.needs.rbac)])].sort();
      expect(grants(requiredPermissions(withEnabled([d.name]))), d.name).toEqual(expected);
    }
    expect(grants(requiredPermissions(withEnabled(['cordon'])))).toContain('core/nodes:patch');
    expect(grants(requiredPermissions(withEnabled(['delete'])))).toContain('core/pods:delete');
    expect(grants(requiredPermissions(withEnabled(['kill', 'webhook'])))).toEqual(ENGINE_GRANTS);
  });

  it('follows the enabled set as it grows, never granting what an off responder needs', () => {
    const all = RESPONDERS.map((d) => d.name);
    expect(grants(requiredPermissions(withEnabled(all)))).toEqual([...new Set([...ENGINE_GRANTS, ...RESPONDERS.flatMap((d) => grants(d.needs.rbac))])].sort());
    const withoutCordon = grants(requiredPermissions(withEnabled(all.filter((n) => n !== 'cordon'))));
    expect(withoutCordon.filter((g) => g.startsWith('core/nodes'))).toEqual([]);
  });

  it('merges rules per group and resource, verbs in kubectl order', () => {
    const pods = requiredPermissions(withEnabled(['quarantine', 'delete'])).find((r) => r.resources[0] === 'pods');
    expect(pods).toEqual({ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'patch', 'delete'] });
  });
});

describe('actionsProblems', () => {
  it('finds nothing wrong with the defaults', () => {
    expect(actionsProblems(parsed({}))).toEqual([]);
  });

  it("asks each responder for its own checks, at its block's path", () => {
    expect(actionsProblems(parsed({ webhook: { enabled: true } }))).toEqual(['actions.webhook.url: is required when actions.webhook.enabled is true']);
    expect(actionsProblems(parsed({ webhook: { enabled: true, url: 'https://soar.example.com/hook' } }))).toEqual([]);
    // Off, a webhook without a URL is fine: nothing will be sent.
    expect(actionsProblems(parsed({ webhook: { enabled: false } }))).toEqual([]);
    expect(actionsProblems(parsed({ webhook: { secret: 's', secret_file: '/f' } }))).toEqual(['actions.webhook: set secret or secret_file, not both']);
    expect(actionsProblems(parsed({ webhook: { secret: 's' } }))).toEqual([]);
  });

  it('requires a token for the action API, inline or in a file', () => {
    const problem = 'actions.api.token: is required when actions.api.enabled is true: the action API never runs without a bearer token';
    expect(actionsProblems(parsed({ api: { enabled: true } }))).toEqual([problem]);
    expect(actionsProblems(parsed({ api: { enabled: true, token_file: '/etc/lanner/token' } }))).toEqual([]);
    expect(actionsProblems(parsed({ api: { enabled: true, token: 't' } }))).toEqual([]);
  });

  it('names what rules and profiles ask for that no responder or profile answers, in the order config loading has always given', () => {
    expect(
      actionsProblems(
        parsed({
          profiles: { contain: ['quarantine', 'isolate'], event: ['quarantine'], notify: ['contain', 'webhook'] },
          rules: { 'Terminal shell in container': ['contain', 'nuke'] },
          webhook: { enabled: true },
          api: { enabled: true },
        }),
      ),
    ).toEqual([
      'actions.webhook.url: is required when actions.webhook.enabled is true',
      'actions.api.token: is required when actions.api.enabled is true: the action API never runs without a bearer token',
      'actions: "contain" names "isolate", which is neither a responder (quarantine, event, webhook, cordon, kill, delete) nor a profile',
      'actions: "Terminal shell in container" names "nuke", which is neither a responder (quarantine, event, webhook, cordon, kill, delete) nor a profile',
      "actions.profiles.event: a profile cannot take a responder's name",
    ]);
  });
});
