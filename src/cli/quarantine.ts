/**
 * The manual runbook: `lanner quarantine NS/POD`, `lanner release NS/POD`, `lanner quarantine
 * list`. A person's decision goes through the same guardrails and audit trail as the service's,
 * acts for real unless --dry-run (the config's dry_run holds back automation, not people), and
 * uses kubectl's credentials: --kubeconfig, $KUBECONFIG, ~/.kube/config, or the pod's account.
 */
import { ActionEngine, type QuarantineEntry } from '../actions/action-engine.js';
import type { Decision } from '../actions/audit.js';
import { ClientNodeKubeApi, loadKubeConfig } from '../actions/kube.js';
import type { Alert } from '../alerts/alert.js';
import { loadConfig } from '../config/config.js';
import { parseDurationMs } from '../core/units.js';
import { LannerError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { createMetrics } from '../metrics/metrics.js';
import { decisionBody } from '../server/action-api.js';
import { parseFlags } from './args.js';
import { configFileFrom } from './config-file.js';

export const QUARANTINE_HELP = `Usage:
  lanner quarantine NAMESPACE/POD [--reason TEXT] [--ttl DURATION] [--dry-run] [flags]
  lanner quarantine list [flags]
  lanner release NAMESPACE/POD [--reason TEXT] [flags]

quarantine labels the one pod lanner.dev/quarantine=true and ensures the NetworkPolicy
lanner-quarantine in its namespace, which denies all ingress and egress but what actions.quarantine
opens (DNS, forensics CIDRs). The pod keeps running for forensics. Quarantining a pod that is
already quarantined renews it with the new TTL. release removes the label and annotations.
The guardrails apply: kube-system, Lanner's own namespace, denied namespaces and pods labelled
lanner.dev/protect=true are refused, and so is a quarantine past actions.limits.max_quarantined_pods.
Every decision is recorded as a Kubernetes Event and sent to the configured outputs.

Exit status: 0 done (or decided, with --dry-run), 3 refused by a guardrail, 1 failed, 2 bad usage.

Flags:
  --reason TEXT        why, recorded on the pod and in the audit trail
  --ttl DURATION       how long until the quarantine is released (default actions.quarantine.ttl, 24h)
  --dry-run            decide and print, change nothing
  --kubeconfig FILE    credentials (default: $KUBECONFIG, ~/.kube/config, or the pod's service account)
  --config FILE        lanner.yaml for the guardrails, quarantine policy and outputs
  --json               print the decision (or the list) as JSON
  -h, --help           this help
`;

export async function runQuarantine(command: 'quarantine' | 'release', argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    command,
    argv,
    {
      reason: { type: 'string' },
      ttl: { type: 'string' },
      'dry-run': { type: 'boolean' },
      kubeconfig: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(QUARANTINE_HELP);
    return 0;
  }
  const listing = command === 'quarantine' && positionals[0] === 'list';
  if (positionals.length !== 1) throw new LannerError('LANNER_USAGE', `${command}: expected ${listing ? 'no more arguments' : 'one NAMESPACE/POD'} (see 'lanner ${command} --help')`);
  const ref = listing ? undefined : parseRef(command, positionals[0]!);
  let ttlMs: number | undefined;
  if (values.ttl !== undefined) {
    ttlMs = parseDurationMs(values.ttl);
    if (command !== 'quarantine' || listing || ttlMs === undefined || ttlMs <= 0) {
      throw new LannerError('LANNER_USAGE', `${command}: --ttl ${JSON.stringify(values.ttl)}: expected a duration such as 30m or 24h, on a quarantine`);
    }
  }

  if (values['dry-run'] === true && (command !== 'quarantine' || listing)) {
    // Accepted and ignored, a release would happen for real while its caller believed it rehearsed.
    throw new LannerError('LANNER_USAGE', `${command}: --dry-run is for a quarantine only; ${listing ? 'list changes nothing' : 'a release has no dry run'}`);
  }
  const config = loadConfig({ file: configFileFrom(values.config) });
  const kc = loadKubeConfig({ kubeconfig: values.kubeconfig ?? config.actions.kubeconfig, home: true });
  if (!kc) throw new LannerError('LANNER_KUBE_CONFIG', 'no Kubernetes credentials: pass --kubeconfig, set KUBECONFIG, or run where ~/.kube/config or a service account exists');
  // The command's own output is its answer; Lanner's logs stay quiet unless asked for.
  const logger = createLogger(process.env['LANNER_LOG_LEVEL'] ?? 'silent');
  const metrics = createMetrics({ processMetrics: false });
  const outputs = config.outputs.map((o) => o.create(o.name, { logger, metrics }));
  const sink = (record: Alert): void => {
    for (const o of outputs) o.send(record);
  };
  const engine = new ActionEngine(config.actions, { logger, metrics, kube: new ClientNodeKubeApi(kc), node: config.nodeName, cluster: config.cluster, sink });
  try {
    if (listing) {
      const entries = await engine.list();
      process.stdout.write(values.json ? `${JSON.stringify(entries, null, 2)}\n` : table(entries));
      return 0;
    }
    const decision =
      command === 'release'
        ? await engine.release(ref!, 'manual', values.reason)
        : await engine.perform(
            { action: 'quarantine', target: { kind: 'pod', namespace: ref!.namespace, pod: ref!.name }, trigger: 'manual', ...(values.reason ? { reason: values.reason } : {}), ...(ttlMs ? { ttlMs } : {}) },
            values['dry-run'] === true,
          );
    return report(decision, values.json === true);
  } finally {
    await engine.close();
    await Promise.all(outputs.map((o) => o.close()));
  }
}

function parseRef(command: string, text: string): { namespace: string; name: string } {
  const m = /^([a-z0-9][-a-z0-9]*)\/([a-z0-9][-.a-z0-9]*)$/.exec(text);
  if (!m) throw new LannerError('LANNER_USAGE', `${command}: ${JSON.stringify(text)} is not NAMESPACE/POD`);
  return { namespace: m[1]!, name: m[2]! };
}

function report(d: Decision, json: boolean): number {
  const outcome = d.verdict.outcome;
  if (json) process.stdout.write(`${JSON.stringify(decisionBody(d), null, 2)}\n`);
  if (outcome === 'executed' || outcome === 'dry_run') {
    if (!json) process.stdout.write(`${outcome === 'dry_run' ? 'dry run: ' : ''}${d.verdict.message}\n`);
    return 0;
  }
  const code = outcome === 'refused' ? 'LANNER_ACTION_REFUSED' : 'LANNER_ACTION_FAILED';
  process.stderr.write(`lanner: ${code}: ${d.record.reason}: ${d.verdict.message}\n`);
  return outcome === 'refused' ? 3 : 1;
}

function table(entries: readonly QuarantineEntry[]): string {
  if (entries.length === 0) return 'no pods are quarantined\n';
  const rows = [
    ['NAMESPACE', 'POD', 'NODE', 'SINCE', 'UNTIL', 'BY', 'RULE'],
    ...entries.map((e) => [e.namespace, e.pod, e.node ?? '-', e.since ?? '-', `${e.until ?? '-'}${e.expired ? ' (expired)' : ''}`, e.by ?? '-', e.rule ?? e.reason ?? '-']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
