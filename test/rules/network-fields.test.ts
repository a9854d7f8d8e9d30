/**
 * Falco's network fields (fd.net, fd.snet, fd.cnet, fd.lnet, fd.rnet) and address fields (fd.ip,
 * fd.sip, fd.cip, fd.lip, fd.rip), derived from the addresses the feed forwards and compared as libsinsp compares them (see
 * src/rules/compiler/network.ts for what Falco does and where).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FieldValue } from '../../src/core/event.js';
import { compileExpr } from '../../src/rules/compiler/compile.js';
import { PredicateCompiler } from '../../src/rules/compiler/codegen.js';
import { parseIPv4 } from '../../src/rules/compiler/network.js';
import { isEvaluable } from '../../src/rules/fields/feed-fields.js';
import { loadRuleSources } from '../../src/rules/load/loader.js';
import { HAVE_SHARED, SHARED_DIR } from '../support/shared.js';
import { event, load, ruleFor } from './helpers.js';

/** The closure tree's and the generated code's answer, which must agree. */
function both(condition: string, fields: Record<string, FieldValue>, extra = ''): boolean {
  const expr = ruleFor(condition, extra).expr;
  const ev = event(fields);
  const closure = compileExpr(expr)(ev);
  const generated = new PredicateCompiler(true).compile(expr)(ev);
  expect(generated, `${condition} on ${JSON.stringify(fields)}`).toBe(closure);
  return closure;
}

const connect = (sip: FieldValue, cip: FieldValue = '172.17.0.2'): Record<string, FieldValue> => ({ 'fd.sip': sip, 'fd.cip': cip });

describe('network fields', () => {
  it('fd.snet, fd.cnet, fd.lnet and fd.rnet test containment of their own end (IPv4)', () => {
    expect(both('fd.snet = "10.0.0.0/8"', connect('10.1.2.3'))).toBe(true);
    expect(both('fd.snet = "10.0.0.0/8"', connect('11.1.2.3'))).toBe(false);
    expect(both('fd.snet != "10.0.0.0/8"', connect('11.1.2.3'))).toBe(true);
    expect(both('fd.snet != "10.0.0.0/8"', connect('10.255.0.1'))).toBe(false);
    expect(both('fd.snet in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")', connect('172.31.255.255'))).toBe(true);
    expect(both('fd.snet in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")', connect('172.32.0.1'))).toBe(false);
    expect(both('fd.snet intersects ("10.0.0.0/8", "192.168.0.0/16")', connect('192.168.4.4'))).toBe(true);
    expect(both('fd.cnet = "172.17.0.0/16"', connect('8.8.8.8'))).toBe(true);
    expect(both('fd.cnet = "172.18.0.0/16"', connect('8.8.8.8'))).toBe(false);
    expect(both('fd.lnet = "192.168.0.0/16"', { 'fd.lip': '192.168.1.9' })).toBe(true);
    expect(both('fd.lnet = "192.168.0.0/16"', { 'fd.lip': '192.169.1.9' })).toBe(false);
    expect(both('fd.rnet in ("203.0.113.0/24")', { 'fd.rip': '203.0.113.7' })).toBe(true);
    expect(both('fd.rnet in ("203.0.113.0/24")', { 'fd.rip': '203.0.114.7' })).toBe(false);
    // prefix edges: /0 holds everything of the family, /32 one address, the host bits are masked
    expect(both('fd.snet = "0.0.0.0/0"', connect('203.0.113.7'))).toBe(true);
    expect(both('fd.snet = "10.1.2.3/32"', connect('10.1.2.3'))).toBe(true);
    expect(both('fd.snet = "10.1.2.3/32"', connect('10.1.2.4'))).toBe(false);
    expect(both('fd.snet = "10.1.2.3/8"', connect('10.200.0.1'))).toBe(true);
  });

  it('contain IPv6 addresses in IPv6 networks, whatever the textual form', () => {
    expect(both('fd.snet = "2001:db8::/32"', connect('2001:db8:0:0::1'))).toBe(true);
    expect(both('fd.snet = "2001:db8::/32"', connect('2001:db9::1'))).toBe(false);
    expect(both('fd.snet in ("fd00::/8", "fe80::/10")', connect('fe80::1ff:fe23:4567:890a'))).toBe(true);
    expect(both('fd.snet in ("fd00::/8", "fe80::/10")', connect('fec0::1'))).toBe(false);
    expect(both('fd.cnet = "::1/128"', connect('2001:db8::1', '0:0:0:0:0:0:0:1'))).toBe(true);
    expect(both('fd.snet != "2001:db8::/32"', connect('2001:db9::1'))).toBe(true);
    // the other family is never in a network: = false, != true
    expect(both('fd.snet = "0.0.0.0/0"', connect('::1'))).toBe(false);
    expect(both('fd.snet != "10.0.0.0/8"', connect('::ffff:10.0.0.1'))).toBe(true);
    expect(both('fd.snet = "::/1"', connect('10.0.0.1'))).toBe(false);
  });

  it('fd.net: = and in hold when either end is in the network, != when neither is (compare_net)', () => {
    // client 172.17.0.2 is private, the server public
    expect(both('fd.net = "172.16.0.0/12"', connect('203.0.113.7'))).toBe(true);
    expect(both('fd.net = "203.0.113.0/24"', connect('203.0.113.7'))).toBe(true);
    expect(both('fd.net = "10.0.0.0/8"', connect('203.0.113.7'))).toBe(false);
    expect(both('fd.net in ("10.0.0.0/8", "203.0.113.0/24")', connect('203.0.113.7'))).toBe(true);
    // != is not "some end outside": both ends must be outside
    expect(both('fd.net != "172.16.0.0/12"', connect('203.0.113.7'))).toBe(false);
    expect(both('fd.net != "127.0.0.0/8"', connect('203.0.113.7'))).toBe(true);
    expect(both('fd.net != "127.0.0.0/8"', connect('127.0.0.1', '127.0.0.1'))).toBe(false);
    // one end only (a listening socket has just the server address): that end alone
    expect(both('fd.net = "10.0.0.0/8"', connect('10.0.0.1', null))).toBe(true);
    expect(both('fd.net != "10.0.0.0/8"', connect('11.0.0.1', null))).toBe(true);
    // intersects: libsinsp's compare_net combines only =, in and !=, so two ends never match
    expect(both('fd.net intersects ("10.0.0.0/8")', connect('10.0.0.1', '10.0.0.2'))).toBe(false);
    expect(both('fd.net intersects ("10.0.0.0/8")', connect('10.0.0.1', null))).toBe(true);
  });

  it('fd.ip compares addresses exactly, either end, with != holding when neither end is the address', () => {
    expect(both('fd.ip = "203.0.113.7"', connect('203.0.113.7'))).toBe(true);
    expect(both('fd.ip = "172.17.0.2"', connect('203.0.113.7'))).toBe(true);
    expect(both('fd.ip = "203.0.113.8"', connect('203.0.113.7'))).toBe(false);
    expect(both('fd.ip in ("1.1.1.1", "203.0.113.7")', connect('203.0.113.7'))).toBe(true);
    expect(both('fd.ip != "0.0.0.0"', connect('203.0.113.7'))).toBe(true);
    expect(both('fd.ip != "172.17.0.2"', connect('203.0.113.7'))).toBe(false);
    expect(both('fd.ip != "0.0.0.0"', connect('0.0.0.0', null))).toBe(false);
    // textual forms of one IPv6 address are one address
    expect(both('fd.ip = "2001:db8::1"', connect('2001:0db8:0000:0000:0000:0000:0000:0001'))).toBe(true);
    expect(both('fd.ip = "2001:DB8::1"', connect('2001:db8::1'))).toBe(true);
    expect(both('fd.ip = "::1"', connect('::2'))).toBe(false);
    // not a prefix match: fd.ip is an address
    expect(both('fd.ip = "10.1.2.3"', connect('10.1.2.30'))).toBe(false);
  });

  it('fd.sip, fd.cip, fd.lip and fd.rip compare their own end as an address, not as text', () => {
    expect(both('fd.sip = "203.0.113.7"', connect('203.0.113.7'))).toBe(true);
    expect(both('fd.sip = "172.17.0.2"', connect('203.0.113.7'))).toBe(false);
    expect(both('fd.cip = "172.17.0.2"', connect('203.0.113.7'))).toBe(true);
    expect(both('fd.lip = "192.168.1.9"', { 'fd.lip': '192.168.1.9' })).toBe(true);
    expect(both('fd.rip in ("203.0.113.7", "198.51.100.1")', { 'fd.rip': '198.51.100.1' })).toBe(true);
    // one address, many spellings: a list written uncompressed still matches what Falco renders
    expect(both('fd.sip = "fd00:ec2:0:0:0:0:0:254"', connect('fd00:ec2::254'))).toBe(true);
    expect(both('fd.sip in ("FD00:EC2::254")', connect('fd00:ec2::254'))).toBe(true);
    expect(both('fd.sip != "fd00:ec2::254"', connect('fd00:ec2:0::254'))).toBe(false);
    // the other family never equals: = false, != true
    expect(both('fd.sip = "127.0.0.1"', connect('::ffff:127.0.0.1'))).toBe(false);
    expect(both('fd.sip != "127.0.0.1"', connect('::1'))).toBe(true);
    // not a prefix or text match
    expect(both('fd.sip = "10.1.2.3"', connect('10.1.2.30'))).toBe(false);
    expect(both('fd.sip in ()', connect('10.1.2.3'))).toBe(false);
    expect(both('not fd.sip in ()', connect('10.1.2.3'))).toBe(true);
    // missing, or not an address: false, != included
    for (const fields of [{}, connect(null), connect('not an address')]) {
      expect(both('fd.sip = "10.1.2.3"', fields)).toBe(false);
      expect(both('fd.sip != "10.1.2.3"', fields)).toBe(false);
    }
  });

  it('compares an address with another field as addresses (val())', () => {
    expect(both('fd.sip = val(fd.cip)', connect('10.0.0.1', '10.0.0.1'))).toBe(true);
    expect(both('fd.sip = val(fd.cip)', connect('::1', '0:0:0:0:0:0:0:1'))).toBe(true);
    expect(both('fd.sip = val(fd.cip)', connect('10.0.0.1', '10.0.0.2'))).toBe(false);
    expect(both('fd.sip != val(fd.cip)', connect('10.0.0.1', '10.0.0.2'))).toBe(true);
    expect(both('fd.sip != val(fd.cip)', connect('10.0.0.1', null))).toBe(false);
    // fd.ip: either end
    expect(both('fd.ip = val(fd.lip)', { 'fd.sip': '10.0.0.1', 'fd.cip': '10.0.0.2', 'fd.lip': '10.0.0.2' })).toBe(true);
    // a network has no address to be equal to
    expect(both('fd.snet = val(fd.cip)', connect('10.0.0.1', '10.0.0.1'))).toBe(false);
  });

  it('a missing address: no match for = and in, and Falco\'s false for != too; not turns it true', () => {
    for (const fields of [{}, connect(null, null), { 'fd.sip': null }, { 'fd.sip': 'not an address', 'fd.cip': null }]) {
      expect(both('fd.snet = "10.0.0.0/8"', fields)).toBe(false);
      expect(both('fd.snet in ("10.0.0.0/8")', fields)).toBe(false);
      expect(both('fd.snet != "10.0.0.0/8"', fields)).toBe(false);
      expect(both('fd.net != "127.0.0.0/8"', fields)).toBe(false);
      expect(both('fd.ip != "0.0.0.0"', fields)).toBe(false);
      expect(both('fd.ip = "0.0.0.0"', fields)).toBe(false);
      expect(both('not fd.snet in ("10.0.0.0/8")', fields)).toBe(true);
    }
  });

  it('uses fd.net, fd.snet, ... from the event when it carries them', () => {
    expect(both('fd.net = "10.0.0.0/8"', { 'fd.net': '10.9.9.9', 'fd.sip': '8.8.8.8', 'fd.cip': '8.8.4.4' })).toBe(true);
    expect(both('fd.snet = "10.0.0.0/8"', { 'fd.snet': '8.8.8.8', 'fd.sip': '10.0.0.1' })).toBe(false);
  });

  it('expands lists of networks as Falco does', () => {
    const extra = '- list: private_nets\n  items: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]\n';
    expect(both('not fd.snet in (private_nets)', connect('203.0.113.7'), extra)).toBe(true);
    expect(both('not fd.snet in (private_nets)', connect('10.1.2.3'), extra)).toBe(false);
  });

  it('are evaluable on feed events, which forward fd.sip and fd.cip', () => {
    for (const f of ['fd.net', 'fd.snet', 'fd.cnet', 'fd.ip']) expect(isEvaluable(f), f).toBe(true);
    // the feed does not forward the local and remote addresses
    expect(isEvaluable('fd.lnet')).toBe(false);
    expect(isEvaluable('fd.rnet', new Set(['fd.rip']))).toBe(true);
  });
});

describe('lint of network literals', () => {
  const lint = (condition: string) =>
    load(`- rule: r\n  desc: d\n  condition: ${condition}\n  output: o\n  priority: WARNING\n`).problems.filter((p) => p.code === 'LANNER_RULE_BAD_VALUE' || p.code === 'LANNER_RULE_BAD_OPERATOR');

  it('reports a bad CIDR at its place in the file', () => {
    const problems = lint('fd.snet in ("10.0.0.0/8", "10.0.0.0/33")');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ severity: 'error', code: 'LANNER_RULE_BAD_VALUE', file: 'rules.yaml', line: 3, col: 40 });
    expect(problems[0]!.message).toContain('10.0.0.0/33');
    for (const bad of ['"300.0.0.0/8"', '"10.0.0/8"', '"2001:db8::/0"', '"2001:db8::/129"', '"10.0.0.0/x"', '"gg::/8"']) {
      expect(lint(`fd.net = ${bad}`), bad).toMatchObject([{ severity: 'error', code: 'LANNER_RULE_BAD_VALUE' }]);
    }
    expect(lint('fd.ip = "10.0.0.0/8"')).toMatchObject([{ severity: 'error', code: 'LANNER_RULE_BAD_VALUE' }]);
    expect(lint('fd.ip = "010.0.0.1"')).toMatchObject([{ severity: 'error', code: 'LANNER_RULE_BAD_VALUE' }]);
    expect(lint('fd.net != "127.0.0.0/8" and fd.ip != "0.0.0.0" and fd.snet = "fd00::/8"')).toEqual([]);
  });

  it('refuses a network without a prefix length, as Falco does', () => {
    const [bad] = lint('fd.snet = "10.1.2.3"');
    expect(bad).toMatchObject({ severity: 'error', code: 'LANNER_RULE_BAD_VALUE' });
    expect(bad!.message).toContain('10.1.2.3/32');
    expect(lint('fd.net in ("fd00::1")')[0]!.message).toContain('fd00::1/128');
  });

  it('refuses text and ordering operators, as Falco does for address and network fields', () => {
    expect(lint('fd.snet startswith "10."')).toMatchObject([{ severity: 'error', code: 'LANNER_RULE_BAD_OPERATOR' }]);
    expect(lint('fd.ip > "10.0.0.1"')).toMatchObject([{ severity: 'error', code: 'LANNER_RULE_BAD_OPERATOR' }]);
    for (const op of ['startswith "10."', 'contains "203"', 'endswith ".7"', 'glob "10.*"', 'pmatch (10.0.0.1)', '< 10']) {
      expect(lint(`fd.sip ${op}`), op).toMatchObject([{ severity: 'error', code: 'LANNER_RULE_BAD_OPERATOR', message: expect.stringContaining('fd.sip') }]);
    }
    expect(lint('fd.cip = val(fd.sip) and fd.sip != "::1" and fd.rip in (10.0.0.1, "fd00::1") and fd.lip exists')).toEqual([]);
  });

  it('refuses what is not an address on fd.sip and the like, pointing to the network field for a CIDR', () => {
    const [bad] = lint('fd.sip in ("10.0.0.1", "10.0.0.0/8")');
    expect(bad).toMatchObject({ severity: 'error', code: 'LANNER_RULE_BAD_VALUE', line: 3, col: 37 });
    expect(bad!.message).toContain('use fd.snet');
    expect(lint('fd.cip = "172.17.0.0/16"')[0]!.message).toContain('use fd.cnet');
    expect(lint('fd.sip = "10.0.0.256"')).toMatchObject([{ severity: 'error', code: 'LANNER_RULE_BAD_VALUE' }]);
  });

  it('reports a bad address in a list at the item, once, naming the list and the field', () => {
    const text = [
      '- list: private_nets',
      '  items:',
      '    - "10.0.0.0/8"',
      '    - "10.0.0.0/33"',
      '- list: all_nets',
      '  items: [private_nets, "fd00::/8"]',
      '- rule: a',
      '  desc: d',
      '  condition: fd.snet in (all_nets)',
      '  output: o',
      '  priority: WARNING',
      '- rule: b',
      '  desc: d',
      '  condition: fd.cnet in (private_nets) or fd.sip in (private_nets)',
      '  output: o',
      '  priority: WARNING',
      '',
    ].join('\n');
    const problems = load(text).problems.filter((p) => p.code === 'LANNER_RULE_BAD_VALUE');
    // the bad network once for the network fields; with fd.sip, both items are networks, not addresses
    expect(problems.map((p) => [p.line, p.col, p.severity])).toEqual([
      [3, 7, 'error'],
      [4, 7, 'error'],
      [4, 7, 'error'],
    ]);
    expect(problems[0]!.message).toMatch(/^'10\.0\.0\.0\/8' is not an IPv4 address: to compare with a network, use fd\.snet \(in list 'private_nets', compared with fd\.sip\)$/);
    expect(problems.filter((p) => p.line === 4).map((p) => p.message.replace(/^.*\(/, ''))).toEqual(expect.arrayContaining(["in list 'private_nets', compared with fd.snet)", "in list 'private_nets', compared with fd.sip)"]));
  });

  it('checks the values of exceptions on address and network fields, at the exception', () => {
    const rule = (fields: string, comps: string, values: string) =>
      load(`- rule: r\n  desc: d\n  condition: evt.type = connect\n  output: o\n  priority: WARNING\n  exceptions:\n    - name: allowed\n      fields: ${fields}\n      comps: ${comps}\n      values: ${values}\n`).problems.filter((p) => p.severity !== 'info');
    expect(rule('[fd.sip, proc.name]', '[=, =]', '[[10.0.0.0/8, curl]]')).toMatchObject([{ severity: 'error', code: 'LANNER_RULE_BAD_VALUE', line: 7, message: expect.stringContaining('use fd.snet') }]);
    expect(rule('fd.snet', 'in', '["10.0.0.0/33"]')).toMatchObject([{ severity: 'error', code: 'LANNER_RULE_BAD_VALUE', line: 7 }]);
    expect(rule('[fd.snet, proc.name]', '[in, =]', '[[["10.0.0.0/8", "fd00::/8"], curl]]')).toEqual([]);
    expect(rule('[fd.sip, proc.name]', '[=, =]', '[[10.0.0.1, curl]]')).toEqual([]);
  });
});

describe.skipIf(!HAVE_SHARED)("Falco's outbound macro", () => {
  it('is silent on a connect to a private address and matches one to a public address', () => {
    const falcoRules = readFileSync(join(SHARED_DIR, 'falco-rules', 'falco_rules.yaml'), 'utf8');
    const result = loadRuleSources([
      { file: 'falco_rules.yaml', text: falcoRules },
      { file: 'test.yaml', text: '- rule: Outbound test\n  desc: d\n  condition: outbound\n  output: o\n  priority: NOTICE\n' },
    ]);
    const rule = result.ruleSet.get('Outbound test');
    expect(rule, result.problems.filter((p) => p.file === 'test.yaml').map((p) => p.message).join('\n')).toBeDefined();
    const connectTo = (sip: string) =>
      event({ 'evt.type': 'connect', 'fd.type': 'ipv4', 'fd.sip': sip, 'fd.sport': 443, 'fd.cip': '172.17.0.2', 'fd.cport': 40000, 'evt.rawres': 0, 'evt.res': 'SUCCESS' });
    expect(rule!.matches(connectTo('10.1.2.3'))).toBe(false);
    expect(rule!.matches(connectTo('203.0.113.7'))).toBe(true);
    expect(rule!.matches(connectTo('127.0.0.1'))).toBe(false);
    expect(rule!.matches(connectTo('0.0.0.0'))).toBe(false);
    const expr = rule!.expr;
    const generated = new PredicateCompiler(true).compile(expr);
    for (const sip of ['10.1.2.3', '203.0.113.7', '127.0.0.1']) expect(generated(connectTo(sip)), sip).toBe(compileExpr(expr)(connectTo(sip)));
  });
});

describe('parseIPv4', () => {
  it('reads four decimal parts as inet_pton does, and nothing else', () => {
    expect(parseIPv4('10.1.2.3')).toBe(0x0a010203);
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['10.1.2', '10.1.2.3.4', '10.01.2.3', '256.1.2.3', '10..2.3', '10.1.2.', '.10.1.2', '1a.1.2.3', '10.1.2.3 ', '', '1000.1.2.3']) {
      expect(parseIPv4(bad), bad).toBeUndefined();
    }
  });
});
