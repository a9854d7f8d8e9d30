/**
 * Every responder Lanner can build, in the order they run for one alert: evidence and
 * isolation first, notification next, the destructive ones last (delete after the quarantine
 * and its Event are recorded).
 */
import { cordonDescriptor } from './cordon.js';
import { deletePodDescriptor } from './delete-pod.js';
import { killDescriptor } from './kill.js';
import { RESPONDER_NAMES, type ActionsOptions } from './options.js';
import { podEventDescriptor } from './pod-event.js';
import { quarantineDescriptor } from './quarantine.js';
import type { PermissionRule, ResponderDescriptor } from './responder.js';
import { webhookDescriptor } from './webhook.js';

const DESCRIPTORS = {
  quarantine: quarantineDescriptor,
  event: podEventDescriptor,
  webhook: webhookDescriptor,
  cordon: cordonDescriptor,
  kill: killDescriptor,
  delete: deletePodDescriptor,
} satisfies Record<(typeof RESPONDER_NAMES)[number], ResponderDescriptor>;

export const RESPONDERS: readonly ResponderDescriptor[] = RESPONDER_NAMES.map((name) => DESCRIPTORS[name]);

export function findResponder(name: string): ResponderDescriptor | undefined {
  return RESPONDERS.find((d) => d.name === name);
}

/**
 * The RBAC rules the enabled responders need, merged per API group and resource, plus what
 * the engine itself needs (Events for the audit trail). This is the whole ClusterRole.
 */
export function requiredPermissions(options: ActionsOptions): PermissionRule[] {
  const rules: PermissionRule[] = [{ apiGroups: [''], resources: ['events'], verbs: ['create'] }];
  for (const d of RESPONDERS) if (d.enabled(options)) rules.push(...d.permissions);
  // TTL release lists and patches quarantined pods, even when quarantine is later turned off.
  rules.push({ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'patch'] });
  const merged = new Map<string, Set<string>>();
  for (const r of rules) {
    for (const g of r.apiGroups) {
      for (const res of r.resources) {
        const key = `${g}\u0000${res}`;
        const verbs = merged.get(key) ?? new Set<string>();
        for (const v of r.verbs) verbs.add(v);
        merged.set(key, verbs);
      }
    }
  }
  const order = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
  return [...merged]
    .map(([key, verbs]) => {
      const [group, resource] = key.split('\u0000') as [string, string];
      return { apiGroups: [group], resources: [resource], verbs: [...verbs].sort((a, b) => order.indexOf(a) - order.indexOf(b)) };
    })
    .sort((a, b) => `${a.apiGroups[0]}/${a.resources[0]}`.localeCompare(`${b.apiGroups[0]}/${b.resources[0]}`));
}
