/**
 * Which alerts an output receives: a minimum priority and a routing filter by rule names, tags,
 * namespaces and a rule-language condition. Lists match any of their entries; every criterion
 * given must match.
 */
import type { Alert } from '../alerts/alert.js';
import type { AlertPredicate } from '../alerts/condition.js';
import { atLeast } from '../alerts/severity.js';
import type { Priority } from '../core/event.js';

export interface RouteSpec {
  readonly minPriority: Priority;
  readonly rules?: readonly string[];
  readonly tags?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly condition?: AlertPredicate;
}

export type Route = (alert: Alert) => boolean;

export function compileRoute(spec: RouteSpec): Route {
  const rules = spec.rules?.length ? new Set(spec.rules) : undefined;
  const tags = spec.tags?.length ? new Set(spec.tags) : undefined;
  const namespaces = spec.namespaces?.length ? new Set(spec.namespaces) : undefined;
  const { minPriority, condition } = spec;
  return (alert) => {
    if (!atLeast(alert.priority, minPriority)) return false;
    // A limit alert stands for the held-back rule's alerts: route it as that rule.
    const rule = alert.held_back?.rule ?? alert.rule;
    if (rules && !rules.has(rule)) return false;
    if (tags && !alert.tags.some((t) => tags.has(t))) return false;
    if (namespaces && (alert.workload.namespace === null || !namespaces.has(alert.workload.namespace))) return false;
    if (condition && !condition(alert)) return false;
    return true;
  };
}
