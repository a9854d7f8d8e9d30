/** Alerts for tests: a Falco shell alert in a given container at an explicit event time. */
import { alertFromFalcoEvent, type Alert } from '../../src/alerts/alert.js';
import { falcoEvent } from './events.js';

export const T0 = 1_763_990_696_000_000_000n; // 2025-11-24T13:24:56Z
export const SECOND = 1_000_000_000n;

export interface ShellInit {
  readonly timeNs?: bigint;
  readonly container?: string;
  readonly rule?: string;
  readonly priority?: string;
  readonly namespace?: string;
  readonly image?: string;
  readonly tags?: string[];
  readonly fields?: Record<string, unknown>;
}

export function shellAlert(init: ShellInit = {}): Alert {
  const container = init.container ?? '3f2a9c1e7b44';
  const [repo, tag] = (init.image ?? 'registry.example.com/shop/checkout:1.8.2').split(/:(?=[^:/]+$)/);
  return alertFromFalcoEvent(
    falcoEvent({
      rule: init.rule ?? 'Terminal shell in container',
      priority: init.priority ?? 'Notice',
      timeNs: init.timeNs ?? T0,
      tags: init.tags ?? ['container', 'shell', 'mitre_execution', 'T1059.004'],
      output: `A shell was spawned in container ${container}`,
      fields: {
        'k8s.ns.name': init.namespace ?? 'shop',
        'k8s.pod.name': `checkout-${container.slice(0, 4)}`,
        'container.id': container,
        'container.name': 'checkout',
        'container.image.repository': repo,
        ...(tag ? { 'container.image.tag': tag } : {}),
        'proc.pid': 7400,
        'proc.cmdline': 'sh -i',
        'proc.pname': 'runc',
        'user.name': 'root',
        'user.uid': 0,
        ...init.fields,
      },
    }),
  );
}
