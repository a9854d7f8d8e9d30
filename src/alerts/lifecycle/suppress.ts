/**
 * Suppressions: known-benign noise a team has decided not to see. Each names any of rules,
 * namespaces, images (with `*` wildcards) and a condition; all that are given must match.
 * Patterns compile once at load, never per alert.
 */
import type { Alert } from '../alert.js';
import type { AlertPredicate } from '../condition.js';

export interface SuppressionSpec {
  /** Shown in logs and metrics; defaults to `suppress.<index>`. */
  readonly name: string;
  readonly rules?: readonly string[];
  readonly namespaces?: readonly string[];
  /** Image references; `*` matches any run of characters (`registry.example.com/ops/*`). */
  readonly images?: readonly string[];
  /** A compiled rule-language condition over the alert. */
  readonly condition?: AlertPredicate;
}

export interface Suppression {
  readonly name: string;
  matches(alert: Alert): boolean;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`);
}

export function compileSuppression(spec: SuppressionSpec): Suppression {
  const rules = spec.rules && spec.rules.length > 0 ? new Set(spec.rules) : undefined;
  const namespaces = spec.namespaces && spec.namespaces.length > 0 ? new Set(spec.namespaces) : undefined;
  const images = spec.images && spec.images.length > 0 ? spec.images.map(globToRegExp) : undefined;
  const condition = spec.condition;
  return {
    name: spec.name,
    matches(alert) {
      if (rules && !rules.has(alert.rule)) return false;
      if (namespaces && (alert.workload.namespace === null || !namespaces.has(alert.workload.namespace))) return false;
      if (images) {
        const image = alert.workload.image;
        if (image === null || !images.some((re) => re.test(image))) return false;
      }
      if (condition && !condition(alert)) return false;
      // A suppression with no criteria at all would hide everything; config refuses it, and
      // this guard keeps a programmatic one from doing so either.
      return rules !== undefined || namespaces !== undefined || images !== undefined || condition !== undefined;
    },
  };
}
