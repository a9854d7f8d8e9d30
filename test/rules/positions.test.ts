/** Problems point at the text that has them, in every way YAML lets a condition be written. */
import { describe, expect, it } from 'vitest';
import { lintText } from '../../src/rules/load/loader.js';

const at = (text: string): string[] => lintText(text, 'r.yaml').problems.filter((p) => p.severity === 'error').map((p) => `${p.line}:${p.col}`);

describe('problem positions', () => {
  it('in a folded block condition, point at the operator, not at the block header', () => {
    const text = '- rule: R\n  desc: d\n  condition: >\n    evt.type = connect and\n    container.privileged > 1\n  output: x\n  priority: WARNING\n';
    expect(at(text)).toEqual(['5:26']);
  });

  it('in a literal block condition too', () => {
    const text = '- rule: R\n  desc: d\n  condition: |\n    evt.type = connect and container.privileged > 1\n  output: x\n  priority: WARNING\n';
    expect(at(text)).toEqual(['4:49']);
  });
});
