/**
 * The seam between alerts and the rule language. Suppressions and output routes may say
 * `condition: <Falco condition>`; compiling one is the rule language's job, so whoever loads the
 * config passes a compiler in (src/detect/alert-conditions.ts builds the real one). Without one,
 * a config that uses `condition:` is refused with a clear problem rather than matching nothing.
 */
import type { Alert } from './alert.js';

/** A compiled condition: true when the alert matches. Must not throw. */
export type AlertPredicate = (alert: Alert) => boolean;

export type ConditionCompiler = (source: string) => { ok: true; predicate: AlertPredicate } | { ok: false; problem: string };

/** The compiler of a build without the rule language: every condition is a problem. */
export const NO_CONDITIONS: ConditionCompiler = () => ({ ok: false, problem: 'conditions need the rule engine, which is not available here' });
