/** Config keys that guard against loss or harm: the actions block (safe defaults, every mistake named at start) and output close timeouts against the shutdown grace. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { isLannerError } from '../../src/core/errors.js';

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): readonly string[] {
  const dir = mkdtempSync(join(tmpdir(), 'lanner-actions-'));
  try {
    writeFileSync(join(dir, 'lanner.yaml'), yaml);
    loadConfig({ file: join(dir, 'lanner.yaml'), env });
    return [];
  } catch (err) {
    if (isLannerError(err)) return err.problems;
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('shutdown and output close timeouts', () => {
  it('refuses an output whose close would outlast the shutdown grace', () => {
    expect(problemsOf('shutdown: { grace: 1s }\noutputs:\n  - type: stdout\n  - type: webhook\n    url: http://127.0.0.1:9/\n')).toEqual([
      'outputs.1.close_timeout: "4s" is invalid: must be shorter than shutdown.grace (1000ms), or alerts still queued at shutdown would be lost uncounted',
    ]);
    expect(problemsOf('shutdown: { grace: 10s }\noutputs:\n  - type: webhook\n    url: http://127.0.0.1:9/\n    close_timeout: 9s\n')).toEqual([]);
  });
});

describe('actions configuration', () => {
  it('defaults to dry run, quarantine and event on, the destructive responders off, the API off', () => {
    const a = loadConfig({ env: {} }).actions;
    expect(a.dryRun).toBe(true);
    expect([a.quarantine.enabled, a.event.enabled]).toEqual([true, true]);
    expect([a.cordon.enabled, a.delete.enabled, a.kill.enabled, a.webhook.enabled, a.api.enabled]).toEqual([false, false, false, false, false]);
    expect(a.quarantine.dnsPodLabels).toEqual({ 'k8s-app': 'kube-dns' });
    expect(a.ownNamespace).toBe('lanner');
    expect(loadConfig({ env: { POD_NAMESPACE: 'security' } }).actions.ownNamespace).toBe('security');
    expect(loadConfig({ env: { LANNER_ACTIONS_DRY_RUN: 'false' } }).actions.dryRun).toBe(false);
  });

  it('names every mistake at once', () => {
    const problems = problemsOf(
      [
        'actions:',
        '  profiles: { contain: [quarantine, isolate], event: [quarantine] }',
        '  rules: { "Terminal shell in container": [contain, nuke] }',
        '  webhook: { enabled: true }',
        '  api: { enabled: true }',
        '  quarantine: { forensics_cidrs: [10.0.0.0], ttl: never }',
        '  namespaces: { deny: [Kube_System] }',
        '',
      ].join('\n'),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^actions\.quarantine\.forensics_cidrs\.0: "10\.0\.0\.0" is invalid: expected a CIDR/),
        expect.stringMatching(/^actions\.quarantine\.ttl: "never" is invalid: expected a positive duration/),
        expect.stringMatching(/^actions\.namespaces\.deny\.0: "Kube_System" is invalid/),
      ]),
    );
    const fixed = problemsOf(
      [
        'actions:',
        '  profiles: { contain: [quarantine, isolate], event: [quarantine] }',
        '  rules: { "Terminal shell in container": [contain, nuke] }',
        '  webhook: { enabled: true }',
        '  api: { enabled: true }',
        '',
      ].join('\n'),
    );
    expect(fixed).toEqual([
      'actions.webhook.url: is required when actions.webhook.enabled is true',
      'actions.api.token: is required when actions.api.enabled is true: the action API never runs without a bearer token',
      'actions: "contain" names "isolate", which is neither a responder (quarantine, event, webhook, cordon, kill, delete) nor a profile',
      'actions: "Terminal shell in container" names "nuke", which is neither a responder (quarantine, event, webhook, cordon, kill, delete) nor a profile',
      "actions.profiles.event: a profile cannot take a responder's name",
    ]);
  });
});
