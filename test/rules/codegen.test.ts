/**
 * Generated predicates (codegen.ts) must answer exactly as the closure tree (compile.ts), which
 * states the semantics, including when many predicates share one memo of check results.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FalcoEvent, FieldValue } from '../../src/core/event.js';
import { PredicateCompiler, conjunction, predicateBatch } from '../../src/rules/compiler/codegen.js';
import { compileExpr } from '../../src/rules/compiler/compile.js';
import { loadRules, loadRulesSync } from '../../src/rules/load/loader.js';
import { HAVE_SHARED, REPO_ROOT, SHARED_DIR } from '../support/shared.js';
import { scenarioEvents } from '../support/events.js';
import { event, ruleFor } from './helpers.js';

const CONDITIONS = [
  'proc.name = bash',
  'proc.name != bash',
  'proc.pid = 123',
  'proc.pid != 16',
  'proc.pid > 100 and proc.pid <= 1000',
  'proc.pid < 5 or proc.pid >= 9223372036854775806',
  'evt.time > 9223372036854775806',
  'container.privileged = true',
  'container.privileged != false',
  'proc.name in (sh, bash, "my shell", 123)',
  'proc.name in (sh, bash, "my shell", true) or fd.name intersects (/tmp/*, "")',
  'proc.name != "" and proc.cmdline contains "" and not proc.name startswith ""',
  'proc.name intersects (sh, bash)',
  'fd.name pmatch (/etc/apt, /usr/lib/)',
  'proc.cmdline contains "-jar"',
  'proc.cmdline icontains app.JAR',
  'proc.cmdline startswith Java and proc.cmdline endswith .jar',
  'evt.buffer bcontains 2d6a6172 or evt.buffer bstartswith 4a617661',
  'proc.cmdline regex "Java .*jar"',
  "fd.name glob '/home/*/.ssh/*' or fd.name iglob '/TMP/*'",
  'fd.name exists and not proc.name exists',
  'tolower(proc.name) = bash or toupper(proc.name) = BASH',
  'basename(proc.exepath) = ls or len(proc.name) > 3',
  'b64(proc.cmdline) = hello',
  'proc.name = val(proc.pname)',
  'proc.name != val(proc.pname)',
  'proc.pid > val(proc.ppid)',
  'proc.exepath endswith val(proc.name)',
  'proc.name = tolower(proc.pname)',
  'fd.name glob val(proc.name)',
  'proc.name in val(proc.pname)',
  "evt.is_open_write=true and fd.typechar='f'",
  'evt.is_open_read=true or evt.is_open_create=true',
  'proc.aname[1] = bash or proc.aname[2] in (sh, bash)',
  'proc.args contains "-c"',
  'evt.failed = true',
  'falco.rule = X and evt.hostname = node-b and falco.tags intersects (shell)',
  'evt.source = syscall and falco.priority = Debug',
  'not (proc.name = sh and not (proc.pname = sshd or proc.pid > 5))',
  'evt.type = execve and container.image.tag = "1.20"',
  'container.image.tag != 1.2 and proc.name in ("007", bond)',
  'proc.name intersects (7, "1.0") or container.image.tag > 9 or container.image.tag <= 1.20',
  'user.uid = 1000 or user.uid in (0, "1000") or user.uid > 999',
  'evt.rawtime in (1, 9223372036854775807) or json.value = "1.20"',
  'fd.net != "127.0.0.0/8" and not fd.snet in ("10.0.0.0/8", "172.16.0.0/12", "fd00::/8")',
  'fd.ip = "10.1.2.3" or fd.ip != "::1" or fd.cnet = "192.168.0.0/16" or fd.net intersects ("10.0.0.0/8")',
] as const;

const FIELDS = ['proc.name', 'proc.pname', 'proc.pid', 'proc.ppid', 'proc.cmdline', 'proc.exepath', 'fd.name', 'fd.type', 'evt.arg.flags', 'evt.rawres', 'evt.time', 'container.privileged', 'evt.hostname', 'proc.aname[2]', 'evt.type', 'container.image.tag', 'user.uid', 'evt.rawtime', 'json.value', 'fd.sip', 'fd.cip', 'evt.buffer'];

const value: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.constantFrom('bash', 'sh', 'BaSh', 'sshd', '123', '0x10', 'true', 'false', '/etc/apt/sources.list', '/home/a/.ssh/id', '/tmp/*', 'Java -jar /opt/App.jar', 'aGVsbG8=', 'O_WRONLY|O_CREAT', 'O_RDWR', 'file', 'node-b', '', '/usr/bin/ls', 'sh -c id', 'execve', '1.2', '1.20', '1.200', '007', '7', 'bond', '10', '1000', '01000', '9223372036854775806', '9223372036854775807'),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -5, max: 2000 }),
  fc.bigInt({ min: 9223372036854775800n, max: 9223372036854775807n }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.constantFrom('sh', 'bash', 'zsh', 'nginx'), { maxLength: 3 }),
  fc.double(),
  fc.constantFrom(2 ** 63, 1000, 7, 1.2),
  fc.constantFrom('10.1.2.3', '127.0.0.1', '172.31.255.255', '192.168.1.1', '203.0.113.7', '::1', 'fd00::5', '2001:db8::1', '0.0.0.0'),
);

const anEvent: fc.Arbitrary<FalcoEvent> = fc
  .record({
    fields: fc.dictionary(fc.constantFrom(...FIELDS), value),
    rule: fc.constantFrom('X', 'Y'),
    hostname: fc.constantFrom('node-a', 'node-b'),
    tags: fc.array(fc.constantFrom('shell', 'container'), { maxLength: 2 }),
  })
  .map(({ fields, rule, hostname, tags }) => event(fields, { rule, hostname, tags }));

const exprs = CONDITIONS.map((c) => ruleFor(c).expr);

describe('generated predicates', () => {
  it('agree with the closure tree on every operator, transformer and derived field (property)', () => {
    // One compiler for all conditions, as a rule set has: they share the memo of check results.
    const compiler = new PredicateCompiler(true);
    const generated = exprs.map((e) => compiler.compile(e));
    const closures = exprs.map(compileExpr);
    fc.assert(
      fc.property(fc.array(anEvent, { minLength: 1, maxLength: 4 }), (events) => {
        // Alternate events and predicates, so a stale memo entry would show.
        for (let round = 0; round < 2; round++) {
          for (const ev of events) {
            for (let i = 0; i < exprs.length; i++) expect(generated[i]!(ev), CONDITIONS[i]).toBe(closures[i]!(ev));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('compare text fields as text and numeric fields as numbers, as the closure tree does', () => {
    const cases: [string, Record<string, FieldValue>, boolean][] = [
      ['evt.type = execve and container.image.tag = "1.20"', { 'evt.type': 'execve', 'container.image.tag': '1.2' }, false],
      ['evt.type = execve and container.image.tag = "1.20"', { 'evt.type': 'execve', 'container.image.tag': '1.200' }, false],
      ['evt.type = execve and container.image.tag = "1.20"', { 'evt.type': 'execve', 'container.image.tag': '1.20' }, true],
      ['proc.name in ("007", bond)', { 'proc.name': '7' }, false],
      ['proc.name in ("007", bond)', { 'proc.name': '007' }, true],
      ['proc.name != 7', { 'proc.name': '7.0' }, true],
      ['user.uid = 1000', { 'user.uid': '1000' }, true],
      ['user.uid in (0, 1000)', { 'user.uid': '01000' }, true],
      ['fd.sport > 1000', { 'fd.sport': '8080' }, true],
    ];
    const compiler = new PredicateCompiler(true);
    for (const [condition, fields, expected] of cases) {
      const { expr } = ruleFor(condition);
      const ev = event(fields);
      expect(compiler.compile(expr)(ev), condition).toBe(expected);
      expect(compileExpr(expr)(ev), condition).toBe(expected);
      expect(predicateBatch([compiler.compile(expr)], 'execve')(ev, new Int32Array(1)), condition).toBe(expected ? 1 : 0);
    }
  });

  it('share a check between conditions without mixing up events', () => {
    const compiler = new PredicateCompiler(true);
    const a = compiler.compile(ruleFor('proc.name = sh and fd.name exists').expr);
    const b = compiler.compile(ruleFor('proc.name = sh or proc.pid = 1').expr);
    const sh = event({ 'proc.name': 'sh', 'fd.name': '/x' });
    const other = event({ 'proc.name': 'bash', 'proc.pid': 1 });
    for (let i = 0; i < 3; i++) {
      expect([a(sh), b(sh), a(other), b(other)]).toEqual([true, true, false, true]);
      expect([b(other), a(sh), b(sh), a(other)]).toEqual([true, true, true, false]);
    }
  });

  it('fall back to the closure tree where code generation is not allowed', () => {
    const compiler = new PredicateCompiler(false);
    const p = compiler.compile(ruleFor('proc.name in (sh, bash) and not fd.name exists').expr);
    expect(p(event({ 'proc.name': 'sh' }))).toBe(true);
    expect(p(event({ 'proc.name': 'sh', 'fd.name': '/x' }))).toBe(false);
  });

  it('agree with the closure tree on every shipped rule over the demo scenario', () => {
    const r = loadRulesSync([join(REPO_ROOT, 'rules')]);
    expectSameAnswers(r.ruleSet.rules);
  });

  it.skipIf(!HAVE_SHARED)("agree with the closure tree on Falco's rules over the demo scenario", async () => {
    const files = ['falco_rules.yaml', 'falco-incubating_rules.yaml', 'falco-sandbox_rules.yaml'].map((f) => join(SHARED_DIR, 'falco-rules', f));
    const r = await loadRules([...files, join(REPO_ROOT, 'rules')]);
    expectSameAnswers(r.ruleSet.rules);
  });
});

describe('predicate batches', () => {
  it('find exactly the predicates that hold, with evt.type checks decided for the batch', () => {
    const compiler = new PredicateCompiler(true);
    const conditions = [
      'evt.type = openat and fd.name startswith /etc',
      'evt.type in (execve, execveat) and proc.name = sh',
      '(evt.type = openat and fd.name exists) or (evt.type = execve and proc.name exists)',
      'not evt.type = openat',
      'evt.type != openat and proc.name = sh',
      'tolower(evt.type) = openat',
      'proc.name = sh',
    ];
    const predicates = conditions.map((c) => compiler.compile(ruleFor(c).expr));
    predicates.push(conjunction(predicates[6]!, predicates[0]!), (e) => e.fields['proc.name'] === 'sh');
    const events = [
      event({ 'evt.type': 'openat', 'fd.name': '/etc/passwd', 'proc.name': 'sh' }),
      event({ 'evt.type': 'openat', 'proc.name': 'bash' }),
      event({ 'evt.type': 'execve', 'proc.name': 'sh' }),
      event({ 'evt.type': 'execve', 'fd.name': '/x' }),
    ];
    // A second rule set's predicate among them, as a sequence kept across a reload brings.
    predicates.splice(2, 0, new PredicateCompiler(true).compile(ruleFor('evt.type = execve and proc.name = sh').expr));
    const hits = new Int32Array(predicates.length);
    for (const type of ['openat', 'execve']) {
      const batch = predicateBatch(predicates, type);
      for (const ev of events.filter((e) => e.fields['evt.type'] === type)) {
        const n = batch(ev, hits);
        const want = predicates.flatMap((p, i) => (p(ev) ? [i] : []));
        expect([...hits.subarray(0, n)], JSON.stringify(ev.fields)).toEqual(want);
      }
    }
    const any = predicateBatch(predicates);
    for (const ev of events) {
      const n = any(ev, hits);
      expect([...hits.subarray(0, n)]).toEqual(predicates.flatMap((p, i) => (p(ev) ? [i] : [])));
    }
  });

  it.skipIf(!HAVE_SHARED)("agree with each rule's own predicate on Falco's rules over the demo scenario", async () => {
    const files = ['falco_rules.yaml', 'falco-incubating_rules.yaml', 'falco-sandbox_rules.yaml'].map((f) => join(SHARED_DIR, 'falco-rules', f));
    const rules = (await loadRules([...files, join(REPO_ROOT, 'rules')])).ruleSet.rules;
    const predicates = rules.map((r) => r.matches);
    const hits = new Int32Array(predicates.length);
    let matched = 0;
    for (const ev of scenarioEvents()) {
      const type = ev.fields['evt.type'];
      const batch = predicateBatch(predicates, typeof type === 'string' ? type : undefined);
      const n = batch(ev, hits);
      const want = predicates.flatMap((p, i) => (p(ev) ? [i] : []));
      expect([...hits.subarray(0, n)]).toEqual(want);
      matched += n;
    }
    expect(matched).toBeGreaterThan(0);
  });
});


function expectSameAnswers(rules: readonly { name: string; expr: Parameters<typeof compileExpr>[0]; matches: (e: FalcoEvent) => boolean }[]): void {
  const events = scenarioEvents();
  expect(events.length).toBeGreaterThan(20);
  const closures = rules.map((r) => compileExpr(r.expr));
  let matched = 0;
  // Event by event over all rules, as the engine runs them: later rules meet memoized checks.
  for (const ev of events) {
    for (let i = 0; i < rules.length; i++) {
      const answer = rules[i]!.matches(ev);
      expect(answer, rules[i]!.name).toBe(closures[i]!(ev));
      if (answer) matched++;
    }
  }
  expect(matched).toBeGreaterThan(0);
}
