import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { parseAlertsConfig } from '../../src/alerts/lifecycle/config.js';
import { AlertLifecycle, alertLifecycle, type LifecycleOptions } from '../../src/alerts/lifecycle/lifecycle.js';
import { LIMIT_RULE } from '../../src/alerts/lifecycle/rate-limit.js';
import { compileSuppression } from '../../src/alerts/lifecycle/suppress.js';
import type { ConditionCompiler } from '../../src/alerts/condition.js';
import { from, lastValueFrom, toArray } from 'rxjs';
import { SECOND, shellAlert, T0 } from '../support/alerts.js';

function lifecycle(raw: unknown = {}): AlertLifecycle {
  const parsed = parseAlertsConfig(raw);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return new AlertLifecycle(parsed.options);
}

function run(lc: AlertLifecycle, alerts: readonly Alert[]): Alert[] {
  const out: Alert[] = [];
  for (const a of alerts) out.push(...lc.process(a));
  return out;
}

describe('deduplication', () => {
  it('folds fifty identical shell alerts into one, and a summary with count 50; another container gets its own', () => {
    const lc = lifecycle({ dedup: { cooldown: '5m' }, rate_limit: { global: { count: 0, per: '1m' }, per_rule: { count: 0, per: '1m' } } });
    const same = Array.from({ length: 50 }, (_, i) => shellAlert({ timeNs: T0 + BigInt(i) * SECOND }));
    const other = shellAlert({ timeNs: T0 + 10n * SECOND, container: 'aaaabbbbcccc' });
    const sent = run(lc, [...same.slice(0, 10), other, ...same.slice(10)]);
    expect(sent).toHaveLength(2);
    const [first, second] = sent as [Alert, Alert];
    expect(first).toMatchObject({ count: 1, first_seen: T0, last_seen: T0 });
    expect(first.dedup_key).toMatch(/^[0-9a-f]{20}$/);
    expect(second.workload.container_id).toBe('aaaabbbbcccc');
    expect(second.dedup_key).not.toBe(first.dedup_key);
    expect(lc.stats).toMatchObject({ received: 51, sent: 2, folded: 49, openIncidents: 2 });

    // The cooldown ends (5 min after the first) when time moves on: the summary carries the total.
    const summaries = lc.tick(T0 + 300n * SECOND);
    expect(summaries).toHaveLength(1);
    const summary = summaries[0]!;
    expect(summary).toMatchObject({
      rule: 'Terminal shell in container',
      count: 50,
      first_seen: T0,
      last_seen: T0 + 49n * SECOND,
      timeNs: T0 + 49n * SECOND,
      summary_of: first.id,
      dedup_key: first.dedup_key,
    });
    expect(summary.id).not.toBe(first.id);
    expect(summary.output).toContain('50 occurrences');
    // The other container's incident had no repeats: no summary for it.
    expect(lc.flush()).toEqual([]);
  });

  it('closes a cooldown by event time when the next alert arrives, so replays fold as live did', () => {
    const lc = lifecycle({ dedup: { cooldown: '1m' } });
    const sent = run(lc, [
      shellAlert({ timeNs: T0 }),
      shellAlert({ timeNs: T0 + 30n * SECOND }),
      shellAlert({ timeNs: T0 + 61n * SECOND }),
    ]);
    // first alert, then at +61s: the summary of the first incident (count 2) and a new alert.
    expect(sent.map((a) => [a.count, a.summary_of !== undefined])).toEqual([
      [1, false],
      [2, true],
      [1, false],
    ]);
  });

  it('splits incidents by rule-declared key fields', () => {
    const lc = lifecycle({ dedup: { keys: { 'Terminal shell in container': ['fd.name'] } } });
    const sent = run(lc, [
      shellAlert({ fields: { 'fd.name': '/tmp/a' } }),
      shellAlert({ fields: { 'fd.name': '/tmp/b' } }),
      shellAlert({ fields: { 'fd.name': '/tmp/a' } }),
    ]);
    expect(sent).toHaveLength(2);
  });

  it('bounds open incidents: past max_keys the oldest closes early and still reports its repeats', () => {
    const lc = lifecycle({ dedup: { max_keys: 2 } });
    run(lc, [shellAlert({ container: 'c1' }), shellAlert({ container: 'c1' })]);
    run(lc, [shellAlert({ container: 'c2' })]);
    const out = run(lc, [shellAlert({ container: 'c3' })]);
    expect(out.map((a) => [a.workload.container_id, a.count])).toEqual([
      ['c1', 2],
      ['c3', 1],
    ]);
    expect(lc.stats).toMatchObject({ openIncidents: 2, incidentsEvicted: 1 });
  });
});

describe('alert ids', () => {
  /** A stream with every kind of alert the lifecycle sends: firsts, summaries and limit alerts. */
  function stream(): Alert[] {
    return [
      ...Array.from({ length: 5 }, (_, i) => shellAlert({ timeNs: T0 + BigInt(i) * SECOND })),
      ...Array.from({ length: 6 }, (_, i) => shellAlert({ rule: 'Noisy', timeNs: T0 + BigInt(i) * SECOND, container: `c${i}` })),
      shellAlert({ timeNs: T0 + 400n * SECOND }),
      shellAlert({ timeNs: T0 + 400n * SECOND, fields: { 'fd.name': '/tmp/b' } }),
    ];
  }
  const config = { dedup: { cooldown: '5m', keys: { 'Terminal shell in container': ['fd.name'] } }, rate_limit: { rules: { Noisy: { count: 2, per: '1m' } } } };

  function replay(): Alert[] {
    const lc = lifecycle(config);
    return [...run(lc, stream()), ...lc.flush()];
  }

  it('are the same when the same alerts are replayed, for firsts, summaries and limit alerts alike', () => {
    const first = replay();
    const second = replay();
    expect(first.map((a) => [a.rule, a.count, a.summary_of !== undefined, a.held_back !== undefined])).toEqual([
      ['Terminal shell in container', 1, false, false],
      ['Noisy', 1, false, false],
      ['Noisy', 1, false, false],
      ['AlertLimitReached', 4, false, true],
      ['Terminal shell in container', 5, true, false],
      ['Terminal shell in container', 1, false, false],
      ['Terminal shell in container', 1, false, false],
    ]);
    expect(second.map((a) => a.id)).toEqual(first.map((a) => a.id));
  });

  it('differ for every alert sent, the two told apart only by a key field included', () => {
    const ids = replay().map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('tie a summary to its incident: summary_of is the first alert\'s id, the summary has its own', () => {
    const sent = replay();
    const summary = sent.find((a) => a.summary_of !== undefined)!;
    expect(summary.summary_of).toBe(sent[0]!.id);
    expect(summary.id).not.toBe(sent[0]!.id);
  });
});

describe('rate limits', () => {
  it('holds back alerts past the per-rule limit and says so once, with the count, when the window ends', () => {
    const lc = lifecycle({ dedup: { enabled: false }, rate_limit: { per_rule: { count: 3, per: '1m' }, global: { count: 0, per: '1m' } } });
    const alerts = Array.from({ length: 10 }, (_, i) => shellAlert({ timeNs: T0 + BigInt(i) * SECOND, container: `c${i}`, priority: i === 7 ? 'Critical' : 'Notice' }));
    const sent = run(lc, alerts);
    expect(sent.map((a) => a.workload.container_id)).toEqual(['c0', 'c1', 'c2']);
    expect(lc.stats.rateLimited).toBe(7);
    const limit = lc.tick(T0 + 60n * SECOND);
    expect(limit).toHaveLength(1);
    expect(limit[0]).toMatchObject({
      rule: LIMIT_RULE,
      origin: 'lanner',
      count: 7,
      // The most severe held-back priority, so priority routes still hear of it.
      priority: 'Critical',
      held_back: { rule: 'Terminal shell in container', count: 7, scope: 'rule', limit: 3, window_ms: 60_000, from: T0 + 3n * SECOND, to: T0 + 9n * SECOND },
    });
    expect(limit[0]!.output).toContain('7 alerts of rule "Terminal shell in container" were held back');
  });

  it('applies the global limit across rules and reports per rule', () => {
    const lc = lifecycle({ dedup: { enabled: false }, rate_limit: { per_rule: { count: 0, per: '1m' }, global: { count: 2, per: '10s' } } });
    const sent = run(lc, [
      shellAlert({ rule: 'A' }),
      shellAlert({ rule: 'B' }),
      shellAlert({ rule: 'A' }),
      shellAlert({ rule: 'B' }),
      shellAlert({ rule: 'B' }),
      // the next window: the limit alerts come first, then this one goes out.
      shellAlert({ rule: 'A', timeNs: T0 + 10n * SECOND }),
    ]);
    expect(sent.map((a) => a.held_back ? `${a.held_back.rule}:${a.held_back.count}:${a.held_back.scope}` : a.rule)).toEqual(['A', 'B', 'A:1:global', 'B:2:global', 'A']);
  });

  it('lets repeats of a sent incident fold without spending the budget', () => {
    const lc = lifecycle({ rate_limit: { per_rule: { count: 1, per: '1m' } } });
    const sent = run(lc, Array.from({ length: 5 }, () => shellAlert()));
    expect(sent).toHaveLength(1);
    expect(lc.stats).toMatchObject({ folded: 4, rateLimited: 0 });
  });

  it('a rule listed with count 0 is exempt from the per-rule default', () => {
    const lc = lifecycle({ dedup: { enabled: false }, rate_limit: { per_rule: { count: 1, per: '1m' }, rules: { 'Terminal shell in container': { count: 0, per: '1m' } } } });
    expect(run(lc, Array.from({ length: 5 }, (_, i) => shellAlert({ container: `c${i}` })))).toHaveLength(5);
  });
});

describe('suppressions', () => {
  it('drops alerts matching rule, namespace and image glob together, and nothing else', () => {
    const lc = lifecycle({ suppress: [{ name: 'ops debug shells', rules: ['Terminal shell in container'], namespaces: ['ops'], images: ['registry.example.com/ops/*'] }] });
    const hidden = shellAlert({ namespace: 'ops', image: 'registry.example.com/ops/debug:1' });
    const otherNs = shellAlert({ namespace: 'shop', image: 'registry.example.com/ops/debug:1', container: 'x1' });
    const otherImage = shellAlert({ namespace: 'ops', image: 'docker.io/library/busybox:1', container: 'x2' });
    expect(run(lc, [hidden, otherNs, otherImage]).map((a) => a.workload.container_id)).toEqual(['x1', 'x2']);
    expect(lc.stats.suppressed).toBe(1);
  });

  it('takes a rule-language condition through the compiler it is given, and refuses one without', () => {
    const compiler: ConditionCompiler = (src) => (src === 'proc.pname = runc' ? { ok: true, predicate: (a) => a.process.parent === 'runc' } : { ok: false, problem: `cannot compile ${src}` });
    const parsed = parseAlertsConfig({ suppress: [{ condition: 'proc.pname = runc' }] }, compiler);
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const lc = new AlertLifecycle(parsed.options);
    expect(run(lc, [shellAlert()])).toEqual([]);
    expect(run(lc, [shellAlert({ fields: { 'proc.pname': 'bash' }, container: 'x9' })]).length).toBe(1);
    const bad = parseAlertsConfig({ suppress: [{ condition: 'nonsense' }] }, compiler);
    expect(bad).toEqual({ ok: false, problems: ['alerts.suppress.0.condition: cannot compile nonsense'] });
    expect(parseAlertsConfig({ suppress: [{ condition: 'proc.pname = runc' }] })).toMatchObject({ ok: false, problems: [expect.stringContaining('rule engine')] });
  });

  it('refuses a suppression with no criteria, and unknown keys', () => {
    const r = parseAlertsConfig({ suppress: [{ name: 'everything' }], dedup: { colldown: '1m' } });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems.some((p) => p.startsWith('alerts.suppress.0'))).toBe(true);
      expect(r.problems.some((p) => p.includes('colldown'))).toBe(true);
    }
    expect(compileSuppression({ name: 'empty' }).matches(shellAlert())).toBe(false);
  });
});

describe('enrichment in the lifecycle', () => {
  it('adds severity, MITRE ids and the runbook from config', () => {
    const lc = lifecycle({ runbooks: { 'Terminal shell in container': 'https://runbooks.example.com/shell' } });
    const [a] = lc.process(shellAlert({ priority: 'Critical' }));
    expect(a).toMatchObject({
      severity: 'critical',
      runbook: 'https://runbooks.example.com/shell',
      mitre: { techniques: [{ id: 'T1059.004' }], tactics: [{ id: 'TA0002', name: 'Execution' }] },
    });
  });
});

describe('alertLifecycle operator', () => {
  it('flushes summaries when the stream completes (end of a replay)', async () => {
    const options: LifecycleOptions = { dedup: { cooldownMs: 60_000, maxKeys: 100 }, suppressions: [], enrich: {} };
    const out = await lastValueFrom(from([shellAlert(), shellAlert(), shellAlert()]).pipe(alertLifecycle(new AlertLifecycle(options), { tickMs: 0 }), toArray()));
    expect(out.map((a) => a.count)).toEqual([1, 3]);
  });
});

describe('runbook links', () => {
  it('turn rules\' relative runbook paths into URLs under runbook_base_url, and leave URLs alone', async () => {
    const { enrichAlert } = await import('../../src/alerts/enrich.js');
    const { shellAlert } = await import('../support/alerts.js');
    const base = 'https://git.example.com/lanner/blob/main/';
    expect(enrichAlert({ ...shellAlert(), runbook: 'docs/runbooks/shell_spawn.md' }, { runbookBaseUrl: base }).runbook).toBe(
      'https://git.example.com/lanner/blob/main/docs/runbooks/shell_spawn.md',
    );
    expect(enrichAlert({ ...shellAlert(), runbook: 'https://wiki.example.com/shell' }, { runbookBaseUrl: base }).runbook).toBe('https://wiki.example.com/shell');
    expect(enrichAlert({ ...shellAlert(), runbook: 'docs/runbooks/shell_spawn.md' }).runbook).toBe('docs/runbooks/shell_spawn.md');
  });
});
