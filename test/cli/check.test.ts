/** `lanner check`: the config and its rules together, offline, with what would run and what it needs. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { assertBuilt, lanner } from '../support/cli.js';
import { REPO_ROOT } from '../support/shared.js';

describe('lanner check', () => {
  let dir = '';
  const config = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'lanner-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports what would run, and a rule action that would be refused', async () => {
    const file = config('ok.yaml', `ingest: { http: { listen: 127.0.0.1:9377 } }\nrules: [${join(REPO_ROOT, 'rules')}]\nactions:\n  rules:\n    Terminal shell in container: [delete]\n`);
    const r = await lanner(['check', '--config', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`config: ${file}: valid`);
    expect(r.stdout).toContain('sources: HTTP ingest on 127.0.0.1:9377/');
    expect(r.stdout).toContain('rules: 33 in force');
    expect(r.stdout).toContain('actions: dry run (decided and audited, nothing sent); responders on: quarantine, event');
    expect(r.stdout).toContain('actions: rule "Terminal shell in container" asks for delete, which is off (actions.delete.enabled)');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('ready');
  });

  it('says NOT ready, exit 1, when no event source is configured', async () => {
    const r = await lanner(['check', '--config', config('no-source.yaml', `rules: [${join(REPO_ROOT, 'rules')}]\n`)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('sources: none: lanner run needs one: set falco.grpc.address (--falco-grpc), ingest.http.listen (--ingest-listen) or ingest.files (--input)');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('NOT ready: no event source');
    const withSource = await lanner(['check', '--config', config('one-source.yaml', `ingest: { http: { listen: 127.0.0.1:9377 } }\nrules: [${join(REPO_ROOT, 'rules')}]\n`)]);
    expect(withSource.code).toBe(0);
    expect(withSource.stdout.trimEnd().split('\n').at(-1)).toBe('ready');
  });

  it('exits 1 with every rule problem located, 2 for an invalid config', async () => {
    const broken = await lanner(['check', '--config', config('broken.yaml', `rules: [${join(REPO_ROOT, 'test/fixtures/rules/broken.yaml')}]\n`)]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/broken\.yaml:\d+:\d+: error: /);
    expect(broken.stdout).toMatch(/^NOT ready: no event source; 8 rule errors$/m);
    const invalid = await lanner(['check', '--config', config('bad.yaml', 'actions: { dry_run: maybe }\n')]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('actions.dry_run');
  });

  it('prints the ClusterRole rules the enabled responders need', async () => {
    const r = await lanner(['check', '--rbac', '--config', config('cordon.yaml', 'actions: { cordon: { enabled: true } }\n')]);
    expect(r.code).toBe(0);
    const rules = (parse(r.stdout) as { rules: { resources: string[]; verbs: string[] }[] }).rules;
    expect(rules.map((x) => `${x.resources.join()}:${x.verbs.join('/')}`)).toEqual(['events:create', 'nodes:get/list/patch', 'pods:get/list/patch', 'networkpolicies:get/create/patch']);
  });
});
