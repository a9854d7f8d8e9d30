/**
 * Enrichment: what an analyst needs that the detection did not say. Severity from the Falco
 * priority, MITRE ATT&CK ids from the tags, and the runbook link (the rule's own, else the one
 * config gives for the rule). Node and cluster are stamped by the service. Pure: same alert in,
 * same alert out, so it can run anywhere in the lifecycle.
 */
import type { Alert } from './alert.js';
import { mitreFromTags } from './mitre.js';
import { severityOf } from './severity.js';

export interface EnrichOptions {
  /** Runbook URL by rule name, for rules (Falco's own) that carry none. */
  readonly runbooks?: ReadonlyMap<string, string>;
  /** Runbook for any rule not listed; empty for none. */
  readonly defaultRunbook?: string;
  /**
   * Where rules' relative runbook paths (`docs/runbooks/tmp_race.md`) live, e.g. the URL of this
   * repository's tree: an analyst in a SIEM can follow a URL, not a path in a checkout.
   */
  readonly runbookBaseUrl?: string;
}

function absolute(runbook: string, base: string | undefined): string {
  if (!base || /^[a-z][a-z0-9+.-]*:/i.test(runbook)) return runbook;
  return `${base.replace(/\/+$/, '')}/${runbook.replace(/^\/+/, '')}`;
}

export function enrichAlert(alert: Alert, options: EnrichOptions = {}): Alert {
  const mitre = alert.mitre ?? mitreFromTags(alert.tags);
  const chosen = alert.runbook ?? options.runbooks?.get(alert.rule) ?? (options.defaultRunbook || undefined);
  const runbook = chosen === undefined ? undefined : absolute(chosen, options.runbookBaseUrl);
  return {
    ...alert,
    severity: alert.severity ?? severityOf(alert.priority).severity,
    ...(mitre ? { mitre } : {}),
    ...(runbook ? { runbook } : {}),
  };
}
