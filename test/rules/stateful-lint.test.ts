/** Problems in what a stateful rule joins and renders by: each named at its rule, never silent. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDetectionRules } from '../../src/rules/compiler/stateful.js';
import { DEFAULT_BOUNDS } from '../../src/detect/rule-engine.js';
import { formatProblem } from '../../src/rules/problems.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

function lint(text: string): string[] {
  const d = tempDir('lint');
  writeFileSync(join(d, 'r.yaml'), text);
  return loadDetectionRules([d], DEFAULT_BOUNDS).problems.map((p) => formatProblem(p).replace(`${d}/`, ''));
}

const rule = (by: string, output = 'burst from %fd.name') => `
- rule: Burst
  desc: many connections
  condition: evt.type = connect
  threshold: { count: 3, within: 10s, by: ${by} }
  output: ${output}
  priority: WARNING
`;

describe('stateful rule keys and outputs', () => {
  it('warns of a misspelt join field, which would join nothing', () => {
    expect(lint(rule('[fd.nmae]'))).toEqual(["r.yaml:5:3: warning: unknown field 'fd.nmae' [LANNER_RULE_UNKNOWN_FIELD]"]);
  });

  it('refuses a join field of no Falco field class, as a condition would', () => {
    expect(lint(rule('[nosuch.f]'))).toEqual([
      "r.yaml:5:3: error: unknown field 'nosuch.f': no Falco field class 'nosuch' [LANNER_RULE_UNKNOWN_FIELD_CLASS]",
    ]);
  });

  it('accepts alternatives and fields with arguments', () => {
    expect(lint(rule('["fd.name|fd.sip", "proc.aname[2]", evt.arg.flags]'))).toEqual([]);
  });

  it('warns of an output field that does not exist, which always renders as <NA>', () => {
    expect(lint(rule('[fd.name]', 'burst from %fd.nmae'))).toEqual([
      "r.yaml:6:22: warning: rule 'Burst': unknown field 'fd.nmae': it always renders as <NA> [LANNER_RULE_OUTPUT]",
    ]);
  });
  it('refuses a rule of two stateful kinds at once, and state bounds on a rule of none', () => {
    expect(lint(`
- rule: Both
  desc: d
  condition: evt.type = connect
  threshold: { count: 3, within: 10s, by: fd.name }
  baseline: { by: [container.id], learn: [fd.name], period: 1h }
  output: o
  priority: WARNING
- rule: Stateless
  desc: d
  condition: evt.type = connect
  state: { max_keys: 10 }
  output: o
  priority: WARNING
`)).toEqual([
      "r.yaml:2:3: error: rule 'Both': a rule can be one of sequence, threshold or baseline, not several [LANNER_RULE_SCHEMA]",
      "r.yaml:9:3: error: rule 'Stateless': state: only applies to a rule with sequence, threshold or baseline [LANNER_RULE_SCHEMA]",
    ]);
  });

  it('lets a baseline keep idle profiles for a ttl of its choosing, at least its learning period', () => {
    const baseline = (ttl: string) => `
- rule: New process
  desc: d
  condition: evt.type = execve
  baseline: { by: [container.image.repository], learn: [proc.name], period: 1h }
  state: { ttl: ${ttl} }
  output: new %proc.name
  priority: NOTICE
`;
    expect(lint(baseline('48h'))).toEqual([]);
    const d = tempDir('lint');
    writeFileSync(join(d, 'r.yaml'), baseline('48h'));
    expect(loadDetectionRules([d], DEFAULT_BOUNDS).rules[0]!.bounds?.ttlMs).toBe(48 * 3_600_000);
    expect(lint(baseline('30m'))).toEqual([expect.stringContaining("state.ttl: \"30m\" is shorter than the rule's own learning period")]);
  });
});
