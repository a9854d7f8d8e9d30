/**
 * The detection family an alert belongs to, for dashboards: each shipped rule carries exactly one
 * family tag; Falco's own alerts are "falco"; a user's rule without a family tag is "other".
 */
import type { Alert } from './alert.js';

export const FAMILIES = ['shell_spawn', 'setuid', 'container_escape', 'unexpected_egress', 'tmp_race', 'drift'] as const;

export type Family = (typeof FAMILIES)[number] | 'falco' | 'other';

const KNOWN: ReadonlySet<string> = new Set(FAMILIES);

export function familyOf(alert: Pick<Alert, 'tags' | 'origin'>): Family {
  for (const t of alert.tags) if (KNOWN.has(t)) return t as Family;
  return alert.origin === 'falco' ? 'falco' : 'other';
}
