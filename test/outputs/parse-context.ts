/**
 * Parse contexts for output tests. Outputs only pass `route.condition` to the compiler they are
 * given, so a compiler that knows one tiny form is enough to show it is the one used; what the
 * real rule-language compiler accepts is tested with it, in test/detect/.
 */
import type { ConditionCompiler } from '../../src/alerts/condition.js';
import type { OutputParseContext } from '../../src/outputs/output.js';

const NAMESPACE_IS = /^k8s\.ns\.name = ([\w-]+)$/;

/** Understands `k8s.ns.name = NAME` and nothing else. */
export const namespaceConditions: ConditionCompiler = (source) => {
  const m = NAMESPACE_IS.exec(source);
  if (!m) return { ok: false, problem: `cannot compile ${JSON.stringify(source)}` };
  const namespace = m[1];
  return { ok: true, predicate: (alert) => alert.workload.namespace === namespace };
};

export const TEST_CONTEXT: OutputParseContext = { conditions: namespaceConditions };
