/** Small builders for events in tests: Falco JSON objects and normalized events. */
import type { FalcoEvent } from '../../src/core/event.js';
import { formatRfc3339Ns } from '../../src/core/time.js';
import { buildScenario } from '../../src/demo/scenario.js';
import { normalizeFalcoJson } from '../../src/ingest/normalize.js';

export interface FalcoJsonInit {
  readonly rule?: string;
  readonly priority?: string;
  readonly timeNs?: bigint;
  readonly tags?: string[];
  readonly fields?: Record<string, unknown>;
  readonly output?: string;
}

export function falcoJson(init: FalcoJsonInit = {}): Record<string, unknown> {
  const timeNs = init.timeNs ?? 1763990696428114287n;
  return {
    hostname: 'node-1',
    time: formatRfc3339Ns(timeNs),
    rule: init.rule ?? 'Terminal shell in container',
    priority: init.priority ?? 'Notice',
    source: 'syscall',
    tags: init.tags ?? ['container', 'shell'],
    output: init.output ?? 'A shell was spawned in a container with an attached terminal',
    output_fields: { 'evt.time': timeNs, 'proc.name': 'sh', ...init.fields },
  };
}

export function falcoEvent(init: FalcoJsonInit = {}, transport: FalcoEvent['transport'] = 'http'): FalcoEvent {
  const r = normalizeFalcoJson(falcoJson(init) as never, transport);
  if (!r.ok) throw new Error(`test event invalid: ${r.detail}`);
  return r.event;
}

/** The demo scenario's events, normalized: a realistic mix of feed events and Falco alerts. */
export function scenarioEvents(): FalcoEvent[] {
  const events: FalcoEvent[] = [];
  for (const { json } of buildScenario(1_763_990_696_428_114_287n)) {
    const n = normalizeFalcoJson(json as never, 'file');
    if (n.ok) events.push(n.event);
  }
  return events;
}
