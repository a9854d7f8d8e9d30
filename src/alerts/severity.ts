/**
 * One table from Falco's priority to every severity scale Lanner writes, so ECS, OCSF, CEF and
 * syslog never disagree about how bad an alert is. Falco's priorities are syslog's severities
 * (Emergency 0 .. Debug 7), which is why the syslog column is the priority's own index.
 */
import { PRIORITIES, type Priority } from '../core/event.js';
import type { Severity } from './alert.js';

export interface SeverityScales {
  readonly severity: Severity;
  /** OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical, 6 Fatal. */
  readonly ocsfId: number;
  readonly ocsfName: string;
  /** CEF Severity, 0 (lowest) to 10. */
  readonly cef: number;
  /** RFC 5424 severity code, 0 (Emergency) to 7 (Debug). */
  readonly syslog: number;
  /** ECS event.severity / Elastic risk-score scale: 21 low, 47 medium, 73 high, 99 critical. */
  readonly ecs: number;
}

// Written as a record so the compiler checks that every priority has its row; looked up as a
// Map, like every table a value from an event is looked up in, so that even an unchecked
// priority could never be answered with Object.prototype's members.
const SCALES = {
  Emergency: { severity: 'critical', ocsfId: 6, ocsfName: 'Fatal', cef: 10, syslog: 0, ecs: 99 },
  Alert: { severity: 'critical', ocsfId: 5, ocsfName: 'Critical', cef: 9, syslog: 1, ecs: 99 },
  Critical: { severity: 'critical', ocsfId: 5, ocsfName: 'Critical', cef: 9, syslog: 2, ecs: 99 },
  Error: { severity: 'high', ocsfId: 4, ocsfName: 'High', cef: 7, syslog: 3, ecs: 73 },
  Warning: { severity: 'medium', ocsfId: 3, ocsfName: 'Medium', cef: 5, syslog: 4, ecs: 47 },
  Notice: { severity: 'low', ocsfId: 2, ocsfName: 'Low', cef: 3, syslog: 5, ecs: 21 },
  Informational: { severity: 'informational', ocsfId: 1, ocsfName: 'Informational', cef: 1, syslog: 6, ecs: 1 },
  Debug: { severity: 'informational', ocsfId: 1, ocsfName: 'Informational', cef: 0, syslog: 7, ecs: 0 },
} as const satisfies Record<Priority, SeverityScales>;

const TABLE: ReadonlyMap<string, SeverityScales> = new Map(Object.entries(SCALES));

/** What a priority outside Falco's eight would be read as: the middle of the scale, still seen. */
const UNKNOWN_PRIORITY: SeverityScales = SCALES.Warning;

export function severityOf(priority: Priority): SeverityScales {
  return TABLE.get(priority) ?? UNKNOWN_PRIORITY;
}

/** True when `priority` is at least as severe as `minimum` (Falco ranks Emergency first). */
export function atLeast(priority: Priority, minimum: Priority): boolean {
  return PRIORITIES.indexOf(priority) <= PRIORITIES.indexOf(minimum);
}
