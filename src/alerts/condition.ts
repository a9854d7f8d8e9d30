/**
 * The seam between alerts and the rule language. Suppressions and output routes may say
 * `condition: <Falco condition>`; compiling one is the rule engine's job (src/rules/), so this
 * module only holds the compiler it registers. Until one is registered, a config that uses
 * `condition:` is refused with a clear problem rather than silently matching nothing.
 */
import type { Alert } from './alert.js';

/** A compiled condition: true when the alert matches. Must not throw. */
export type AlertPredicate = (alert: Alert) => boolean;

export type ConditionCompiler = (source: string) => { ok: true; predicate: AlertPredicate } | { ok: false; problem: string };

let compiler: ConditionCompiler | undefined;

/** Called once by the rule engine at start, before the config is loaded. */
export function setConditionCompiler(c: ConditionCompiler | undefined): void {
  compiler = c;
}

/** Compiles `source` with the registered compiler; a problem line when there is none or it fails. */
export function compileCondition(source: string): { ok: true; predicate: AlertPredicate } | { ok: false; problem: string } {
  if (!compiler) return { ok: false, problem: 'conditions need the rule engine, which is not available in this build' };
  return compiler(source);
}
