import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Alert } from '../../src/alerts/alert.js';
import { PRIORITIES } from '../../src/core/event.js';
import { loadDetectionRules } from '../../src/rules/compiler/stateful.js';
import { DEFAULT_BOUNDS, RuleEngine } from '../../src/detect/rule-engine.js';
import { runRuleTestFile, type CaseResult } from '../../src/cli/rules-test.js';
import { normalizeJsonLine } from '../../src/ingest/json-lines.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { HAVE_SHARED, REPO_ROOT, sampleTraces } from '../support/shared.js';

const shipped = loadDetectionRules([join(REPO_ROOT, 'rules')], DEFAULT_BOUNDS);
const FAMILIES = ['shell_spawn', 'setuid', 'container_escape', 'unexpected_egress', 'tmp_race', 'drift'];
const familyOf = (tags: readonly string[]): string => tags.find((t) => FAMILIES.includes(t)) ?? '(none)';

const TESTS_DIR = join(REPO_ROOT, 'rules', 'tests');
const testFiles = readdirSync(TESTS_DIR).filter((f) => f.endsWith('.test.yaml')).map((f) => join(TESTS_DIR, f));
const loader = (paths: readonly string[]) => {
  const r = loadDetectionRules(paths, DEFAULT_BOUNDS);
  return { rules: r.rules, errors: r.problems.filter((p) => p.severity === 'error').map((p) => p.message) };
};

describe('the shipped rules', () => {
  it('load without errors, every rule with one family tag, MITRE ids, a priority and its family runbook', () => {
    expect(shipped.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(shipped.rules.length).toBeGreaterThanOrEqual(30);
    for (const rule of shipped.rules) {
      const families = rule.tags.filter((t) => FAMILIES.includes(t));
      expect(families, rule.name).toHaveLength(1);
      expect(rule.tags.some((t) => /^T\d{4}(\.\d{3})?$/.test(t)), rule.name).toBe(true);
      expect(PRIORITIES, rule.name).toContain(rule.priority);
      expect(rule.runbook, rule.name).toBe(`docs/runbooks/${families[0]}.md`);
    }
    for (const family of FAMILIES) expect(shipped.rules.some((r) => r.tags.includes(family)), family).toBe(true);
  });

  it('each live in their family file, and each family runbook exists and names every rule of its family', () => {
    const rulesFile = (name: string): string | undefined =>
      FAMILIES.find((f) => (parse(readFileSync(join(REPO_ROOT, 'rules', `${f}.yaml`), 'utf8')) as { rule?: string }[]).some((i) => i.rule === name));
    for (const rule of shipped.rules) expect(rulesFile(rule.name), rule.name).toBe(familyOf(rule.tags));
    for (const family of FAMILIES) {
      const path = join(REPO_ROOT, 'docs', 'runbooks', `${family}.md`);
      expect(existsSync(path), path).toBe(true);
      const text = readFileSync(path, 'utf8').replace(/\s+/g, ' ');
      for (const section of ['## What the alert means', '## Triage', '## Evidence to keep', '## Quarantine']) expect(text, `${family}: ${section}`).toContain(section);
      for (const rule of shipped.rules.filter((r) => familyOf(r.tags) === family)) expect(text, `${family}.md names ${rule.name}`).toContain(rule.name);
    }
  });

  it('say in their output what ran, as whom and where, without the reader opening the event', () => {
    const loaded = shipped.load.ruleSet.rules;
    for (const rule of loaded) {
      const out = rule.output;
      expect(out, rule.name).toMatch(/%proc\.(name|cmdline|exepath)/);
      expect(out, rule.name).toMatch(/%container\.(name|id|image\.repository)/);
      expect(out, rule.name).toMatch(/%k8s\.(ns|pod)\.name/);
      // The rule's own words come first: a SIEM that shows one line shows what happened.
      expect(out, rule.name).toMatch(/^[A-Z][a-z]/);
    }
  });

  it('each have at least one attack case and one benign look-alike case in rules/tests, and every case passes', () => {
    const results: CaseResult[] = testFiles.flatMap((f) => runRuleTestFile(f, loader));
    expect(results.filter((r) => !r.passed).map((r) => `${r.name}: ${r.failures.join('; ')}`)).toEqual([]);
    const counts = new Map(shipped.rules.map((r) => [r.name, { family: familyOf(r.tags), attack: 0, benign: 0 }]));
    for (const file of testFiles) {
      const doc = parse(readFileSync(file, 'utf8')) as { tests: { name: string; expect: { rule: string; count?: number }[] }[] };
      for (const t of doc.tests) {
        for (const e of t.expect) {
          const c = counts.get(e.rule);
          expect(c, `${t.name} names unknown rule ${e.rule}`).toBeDefined();
          if ((e.count ?? 1) > 0) c!.attack++;
          else c!.benign++;
        }
      }
    }
    const table = [...counts].map(([rule, c]) => `${c.family} | ${rule} | ${c.attack} | ${c.benign}`);
    console.log(`family | rule | attack cases | benign cases\n${table.join('\n')}`);
    for (const [rule, c] of counts) {
      expect(c.attack, `${rule}: attack cases`).toBeGreaterThanOrEqual(1);
      expect(c.benign, `${rule}: benign cases`).toBeGreaterThanOrEqual(1);
    }
  });

  it('tmp_race: the output says whether root\'s open went through or the kernel refused it', () => {
    const results = runRuleTestFile(join(TESTS_DIR, 'tmp_race.test.yaml'), loader);
    const alertOf = (name: string): Alert => {
      const r = results.find((x) => x.name === name);
      expect(r, name).toBeDefined();
      expect(r!.alerts, name).toHaveLength(1);
      return r!.alerts[0]!;
    };
    const written = alertOf('a user plants /tmp/report.txt -> /etc/shadow and a root backup job writes it');
    const refused = alertOf('the same race refused by fs.protected_symlinks is still reported');
    // The kernel's answer to root's open: SUCCESS went through the link, EACCES was refused by
    // fs.protected_symlinks (docs/runbooks/tmp_race.md says what each means).
    expect(written.output).toMatch(/^Root followed a symlink planted in a world-writable directory: \/tmp\/report\.txt \(result=SUCCESS /);
    expect(refused.output).toMatch(/^Root followed a symlink planted in a world-writable directory: \/var\/tmp\/sess\.lock \(result=EACCES /);
    for (const rule of shipped.load.ruleSet.rules.filter((r) => r.tags.includes('tmp_race'))) expect(rule.output, rule.name).toContain('result=%evt.res');
  });

  it.skipIf(!HAVE_SHARED)('stay silent on every real trace except the privileged container start, which alerts once', () => {
    const byTrace = new Map<string, string[]>();
    for (const { name, lines } of sampleTraces()) {
      const engine = new RuleEngine(shipped.rules, { metrics: createMetrics({ processMetrics: false }) });
      const alerts: Alert[] = [];
      for (const line of lines) {
        const r = normalizeJsonLine(line);
        if (r.ok) engine.process(r.event, alerts);
      }
      engine.end(alerts);
      byTrace.set(name, alerts.map((a) => a.rule));
    }
    expect(byTrace.size).toBeGreaterThanOrEqual(12);
    for (const [name, rules] of byTrace) {
      if (name === 'falco_privileged.falco.jsonl') expect(rules, name).toEqual(['Privileged container started']);
      else expect(rules, name).toEqual([]);
    }
  });
});

describe('the Falco feed kit', () => {
  it('forwards exactly the field set rules are checked against', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const { FEED_FIELDS } = await import('../../src/rules/fields/feed-fields.js');
    const kit = parse(readFileSync(join(REPO_ROOT, 'deploy', 'falco', 'falco-feed.yaml'), 'utf8')) as { append_output: { extra_fields: string[] }[] };
    expect([...kit.append_output[0]!.extra_fields].sort()).toEqual([...FEED_FIELDS].sort());
  });

  it('lets every shipped rule read only fields the feed carries', async () => {
    const { isEvaluable } = await import('../../src/rules/fields/feed-fields.js');
    const load = (await import('../../src/rules/load/loader.js')).loadRulesSync([join(REPO_ROOT, 'rules')]);
    for (const rule of load.ruleSet.rules) {
      const missing = [...rule.fields].filter((f) => !isEvaluable(f));
      expect(missing, rule.name).toEqual([]);
    }
  });
});

describe('the Falco feed rules (deploy/falco/lanner-feed-rules.yaml)', async () => {
  const { loadRulesSync } = await import('../../src/rules/load/loader.js');
  const { falcoEvent } = await import('../support/events.js');
  const feed = loadRulesSync([join(REPO_ROOT, 'deploy', 'falco', 'lanner-feed-rules.yaml')]);

  /** The feed rules that forward an exit (or given-direction) event with these fields. */
  const forwardedBy = (fields: Record<string, unknown>): string[] => {
    const event = falcoEvent({ rule: 'x', priority: 'Debug', tags: ['lanner_feed'], fields: { 'evt.dir': '<', ...fields } });
    const type = String(fields['evt.type']);
    return feed.ruleSet.rules.filter((r) => (r.eventTypes === undefined || r.eventTypes.has(type)) && r.matches(event)).map((r) => r.name);
  };

  it('load as Falco rules: every one at priority Debug, tagged lanner_feed, with the event types it names', () => {
    expect(feed.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(feed.ruleSet.rules.length).toBeGreaterThanOrEqual(10);
    for (const rule of feed.ruleSet.rules) {
      expect(rule.priority, rule.name).toBe('Debug');
      expect(rule.tags, rule.name).toEqual(['lanner_feed']);
      expect(rule.name, rule.name).toMatch(/^Lanner feed: /);
      expect(rule.eventTypes, `${rule.name} must be indexed by event type, as Falco requires of a cheap rule`).toBeDefined();
    }
  });

  it('forward the exit event of every syscall the detections need', () => {
    const inTmp = { 'fd.name': '/tmp/x', 'fd.directory': '/tmp', 'evt.arg.flags': 'O_RDONLY' };
    const cases: [string, Record<string, unknown>][] = [
      ...['execve', 'execveat'].map((t): [string, Record<string, unknown>] => [t, {}]),
      ...['setuid', 'setreuid', 'setresuid', 'setgid', 'setresgid'].map((t): [string, Record<string, unknown>] => [t, {}]),
      ...['chmod', 'fchmod', 'fchmodat'].map((t): [string, Record<string, unknown>] => [t, {}]),
      ...['symlink', 'symlinkat', 'link', 'linkat'].map((t): [string, Record<string, unknown>] => [t, {}]),
      ...['open', 'openat', 'openat2', 'creat'].map((t): [string, Record<string, unknown>] => [t, inTmp]),
      ...['open', 'openat', 'openat2', 'creat'].map((t): [string, Record<string, unknown>] => [t, { 'fd.name': '/etc/shadow', 'evt.arg.flags': 'O_TRUNC|O_WRONLY' }]),
      ...['rename', 'renameat', 'renameat2'].map((t): [string, Record<string, unknown>] => [t, { 'evt.arg.oldpath': '/tmp/.a', 'evt.arg.newpath': '/tmp/b' }]),
      ...['rename', 'renameat', 'renameat2'].map((t): [string, Record<string, unknown>] => [t, { 'evt.arg.oldpath': '/var/lib/x/.cron', 'evt.arg.newpath': '/etc/cron.d/x' }]),
      ['renameat2', { 'evt.arg.oldpath': '/host/usr/bin/.runc', 'evt.arg.newpath': '/host/usr/bin/runc' }],
      ['connect', { 'fd.type': 'ipv4' }],
      ['connect', { 'fd.type': 'ipv6' }],
      ['connect', { 'fd.type': 'unix' }],
      ...['mount', 'umount2', 'unshare', 'setns', 'ptrace', 'init_module', 'finit_module', 'memfd_create'].map((t): [string, Record<string, unknown>] => [t, {}]),
      ...['dup', 'dup2', 'dup3'].flatMap((t) => [0, 1, 2].map((fd): [string, Record<string, unknown>] => [t, { 'evt.rawres': fd, 'fd.type': 'ipv4' }])),
      ['container', { 'evt.dir': '>' }],
    ];
    const missing = cases.filter(([type, fields]) => forwardedBy({ 'evt.type': type, ...fields }).length !== 1).map(([type, f]) => `${type} ${JSON.stringify(f)}`);
    expect(missing).toEqual([]);
  });

  it('keep the volume sane: no enter events, no file opens outside the paths that matter, no ordinary dups', () => {
    const silent: Record<string, unknown>[] = [
      { 'evt.type': 'execve', 'evt.dir': '>' },
      { 'evt.type': 'openat', 'fd.name': '/usr/lib/x86_64-linux-gnu/libc.so.6', 'fd.directory': '/usr/lib/x86_64-linux-gnu', 'evt.arg.flags': 'O_RDONLY|O_CLOEXEC' },
      { 'evt.type': 'openat', 'fd.name': '/etc/passwd', 'fd.directory': '/etc', 'evt.arg.flags': 'O_RDONLY|O_CLOEXEC' },
      { 'evt.type': 'openat', 'fd.name': '/var/log/nginx/access.log', 'fd.directory': '/var/log/nginx', 'evt.arg.flags': 'O_APPEND|O_CREAT|O_WRONLY' },
      { 'evt.type': 'rename', 'evt.arg.oldpath': '/var/lib/app/x.tmp', 'evt.arg.newpath': '/var/lib/app/x' },
      { 'evt.type': 'dup2', 'evt.rawres': 5, 'fd.type': 'ipv4' },
      { 'evt.type': 'dup2', 'evt.rawres': 1, 'fd.type': 'file' },
      { 'evt.type': 'dup2', 'evt.rawres': 0, 'fd.type': 'pipe' },
      { 'evt.type': 'connect', 'fd.type': 'netlink' },
      { 'evt.type': 'read', 'fd.name': '/tmp/x' },
    ];
    for (const fields of silent) expect(forwardedBy(fields), JSON.stringify(fields)).toEqual([]);
  });

  it('come with falco.yaml fragments for gRPC (Falco <= 0.43) and http_output (Falco >= 0.44) that add the same fields', () => {
    const read = (name: string): Record<string, unknown> => parse(readFileSync(join(REPO_ROOT, 'deploy', 'falco', name), 'utf8')) as Record<string, unknown>;
    const kit = read('falco-feed.yaml')['append_output'];
    const grpc = read('falco-grpc-output.yaml');
    const http = read('falco-http-output.yaml');
    for (const fragment of [grpc, http]) {
      expect(fragment['append_output']).toEqual(kit);
      expect(fragment['json_output']).toBe(true);
      expect(fragment['rules_files']).toContain('/etc/falco/lanner-feed-rules.yaml');
    }
    expect(grpc).toMatchObject({ grpc: { enabled: true, bind_address: 'unix:///run/falco/falco.sock' }, grpc_output: { enabled: true } });
    expect(http).toMatchObject({ http_output: { enabled: true, url: 'http://127.0.0.1:9377/' }, json_include_tags_property: true });
  });
});
