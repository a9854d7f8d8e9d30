/**
 * The condition compiler for suppressions and output routes: a condition over an alert is
 * evaluated on its newest evidence event, with the alert's own rule, priority and tags.
 */
import type { Alert } from '../alerts/alert.js';
import type { ConditionCompiler } from '../alerts/condition.js';
import type { FalcoEvent } from '../core/event.js';
import { loadRuleSources } from '../rules/load/loader.js';
import type { RuleSet } from '../rules/load/ruleset.js';
import { formatProblem } from '../rules/problems.js';

/** A compiler over Falco's fields; the empty rule set it compiles against is built on first use. */
export function alertConditionCompiler(): ConditionCompiler {
  let empty: RuleSet | undefined;
  return (source) => {
    empty ??= loadRuleSources([]).ruleSet;
    const r = empty.compileCondition(source);
    if (!r.ok) return { ok: false, problem: r.problems.filter((p) => p.severity === 'error').map(formatProblem).join('; ') };
    const matches = r.condition.matches;
    return {
      ok: true,
      predicate: (alert: Alert) => {
        const last = alert.evidence[alert.evidence.length - 1];
        if (!last) return false;
        const view: FalcoEvent = { ...last, rule: alert.rule, priority: alert.priority, tags: alert.tags };
        return matches(view);
      },
    };
  };
}
