/**
 * Every responder Lanner can build, in the order they run for one alert: evidence and
 * isolation first, notification next, the destructive ones last (delete after the quarantine
 * and its Event are recorded). A new responder is its own file and one line here: its config
 * keys, defaults, checks, typed options, RBAC and docs all follow from its descriptor.
 */
import { cordonDescriptor } from './cordon.js';
import { deletePodDescriptor } from './delete-pod.js';
import { killDescriptor } from './kill.js';
import { podEventDescriptor } from './pod-event.js';
import { quarantineDescriptor } from './quarantine.js';
import type { PermissionRule, ResponderDescriptor } from './responder.js';
import { webhookDescriptor } from './webhook.js';

/** The registered responders, in the order they run for one alert. */
export const RESPONDER_DESCRIPTORS = distinct([
  quarantineDescriptor,
  podEventDescriptor,
  webhookDescriptor,
  cordonDescriptor,
  killDescriptor,
  deletePodDescriptor,
] as const);

/** Any one registered responder, with its own name and option types. */
export type RegisteredResponder = (typeof RESPONDER_DESCRIPTORS)[number];

export type ResponderName = RegisteredResponder['name'];

/** The responders' typed options by name: the responder half of `ActionsOptions`. */
export type ResponderOptionsByName = { readonly [D in RegisteredResponder as D['name']]: ReturnType<D['optionsFrom']> };

export const RESPONDERS: readonly RegisteredResponder[] = RESPONDER_DESCRIPTORS;

export function findResponder(name: string): RegisteredResponder | undefined {
  return RESPONDERS.find((d) => d.name === name);
}

/**
 * The list as given, once it is sure no name is registered twice: two responders under one
 * name would share one config block and one would never run.
 */
export function distinct<const T extends readonly ResponderDescriptor[]>(list: T): T {
  const seen = new Set<string>();
  for (const d of list) {
    if (seen.has(d.name)) throw new Error(`the responder ${d.name} is registered twice`);
    seen.add(d.name);
  }
  return list;
}

/** What the engine itself needs whatever is enabled. */
const ENGINE_RBAC: readonly PermissionRule[] = [
  // The audit trail records decisions as Events.
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  // TTL release lists and patches quarantined pods, even when quarantine is later turned off.
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'patch'] },
];

const VERB_ORDER = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/**
 * The RBAC rules the enabled responders need, merged per API group and resource, plus what
 * the engine itself needs. This is the whole ClusterRole.
 */
export function requiredPermissions(options: ResponderOptionsByName): PermissionRule[] {
  const rules: PermissionRule[] = [...ENGINE_RBAC];
  for (const d of RESPONDERS) if (d.enabled(options)) rules.push(...d.needs.rbac);
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
  return [...merged]
    .map(([key, verbs]) => {
      const [group, resource] = key.split('\u0000') as [string, string];
      return { apiGroups: [group], resources: [resource], verbs: [...verbs].sort((a, b) => VERB_ORDER.indexOf(a) - VERB_ORDER.indexOf(b)) };
    })
    .sort((a, b) => `${a.apiGroups[0]}/${a.resources[0]}`.localeCompare(`${b.apiGroups[0]}/${b.resources[0]}`));
}
