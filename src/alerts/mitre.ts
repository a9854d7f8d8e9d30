/**
 * MITRE ATT&CK ids from Falco-style tags. Falco's rules tag techniques by id (`T1059`,
 * `T1059.004`) and tactics by a `mitre_<tactic>` name; SIEMs want both as ids with names.
 */
import type { MitreInfo, MitreTactic, MitreTechnique } from './alert.js';

/** The fourteen Enterprise ATT&CK tactics, by the snake_case name Falco's tags use. */
export const TACTICS: ReadonlyMap<string, MitreTactic> = new Map(
  (
    [
      ['reconnaissance', 'TA0043', 'Reconnaissance'],
      ['resource_development', 'TA0042', 'Resource Development'],
      ['initial_access', 'TA0001', 'Initial Access'],
      ['execution', 'TA0002', 'Execution'],
      ['persistence', 'TA0003', 'Persistence'],
      ['privilege_escalation', 'TA0004', 'Privilege Escalation'],
      ['defense_evasion', 'TA0005', 'Defense Evasion'],
      ['credential_access', 'TA0006', 'Credential Access'],
      ['discovery', 'TA0007', 'Discovery'],
      ['lateral_movement', 'TA0008', 'Lateral Movement'],
      ['collection', 'TA0009', 'Collection'],
      ['command_and_control', 'TA0011', 'Command and Control'],
      ['exfiltration', 'TA0010', 'Exfiltration'],
      ['impact', 'TA0040', 'Impact'],
    ] as const
  ).map(([key, id, name]) => [key, { id, name }]),
);

const BY_ID: ReadonlyMap<string, MitreTactic> = new Map([...TACTICS.values()].map((t) => [t.id, t]));
const TECHNIQUE = /^T\d{4}(?:\.\d{3})?$/;

/** Techniques and tactics named by `tags`, each once, in tag order; undefined when none. */
export function mitreFromTags(tags: readonly string[]): MitreInfo | undefined {
  const techniques: MitreTechnique[] = [];
  const tactics: MitreTactic[] = [];
  for (const raw of tags) {
    const tag = raw.trim();
    const upper = tag.toUpperCase();
    if (TECHNIQUE.test(upper)) {
      if (!techniques.some((t) => t.id === upper)) techniques.push({ id: upper });
      continue;
    }
    const tactic = tag.toLowerCase().startsWith('mitre_') ? TACTICS.get(tag.slice(6).toLowerCase()) : BY_ID.get(upper);
    if (tactic && !tactics.includes(tactic)) tactics.push(tactic);
  }
  return techniques.length + tactics.length > 0 ? { techniques, tactics } : undefined;
}

/** The parent technique of a sub-technique (T1059.004 → T1059), or the id itself. */
export function parentTechnique(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? id : id.slice(0, dot);
}

export function techniqueUrl(id: string): string {
  return `https://attack.mitre.org/techniques/${id.replace('.', '/')}/`;
}

export function tacticUrl(id: string): string {
  return `https://attack.mitre.org/tactics/${id}/`;
}
