import { describe, expect, it } from 'vitest';
import { compileOutputTemplate } from '../../src/rules/compiler/output-template.js';
import { event } from './helpers.js';

function render(text: string, fields: Parameters<typeof event>[0]): string {
  return compileOutputTemplate(text).template.render(event(fields));
}

describe('output templates', () => {
  it('substitutes fields, fields with arguments and evt.arg.*', () => {
    expect(render('shell=%proc.name parent=%proc.aname[2] flags=%evt.arg.flags.', { 'proc.name': 'sh', 'proc.aname[2]': 'runc', 'evt.arg.flags': 'O_RDONLY' })).toBe(
      'shell=sh parent=runc flags=O_RDONLY.',
    );
  });

  it('renders missing and null values as <NA>, numbers, bigints, booleans and lists as text', () => {
    expect(render('%fd.name %proc.pid %evt.time %container.privileged %ka.req.pod.containers.image %user.name', {
      'fd.name': null, 'proc.pid': 12, 'evt.time': 1470327477881730713n, 'container.privileged': true, 'ka.req.pod.containers.image': ['a', 'b'],
    })).toBe('<NA> 12 1470327477881730713 true (a,b) <NA>');
  });

  it('applies transformers and widths, and drops %container.info as Falco does', () => {
    expect(render('%toupper(proc.name)|%6proc.name|%2proc.name|%container.info|', { 'proc.name': 'bash' })).toBe('BASH|bash  |ba||');
  });

  it('lists the fields it reads and reports a % that names no field', () => {
    const { template, issues } = compileOutputTemplate('100% sure: %proc.name by %user.name (%proc.name)');
    expect(template.fields).toEqual(['proc.name', 'user.name']);
    expect(issues).toEqual([{ offset: 3, message: expect.stringContaining("'%' is not followed by a field name") }]);
    expect(template.render(event({ 'proc.name': 'x', 'user.name': 'root' }))).toBe('100% sure: x by root (x)');
  });
});

describe('output templates from YAML block scalars', () => {
  it('drop the trailing newline a folded scalar adds', async () => {
    const { compileOutputTemplate: compile } = await import('../../src/rules/compiler/output-template.js');
    const { falcoEvent } = await import('../support/events.js');
    const { template } = compile('Shell %proc.name in %container.id\n');
    expect(template.render(falcoEvent({ fields: { 'proc.name': 'sh' } }))).toBe('Shell sh in <NA>');
  });
});
