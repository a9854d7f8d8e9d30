/** Events by type: known syscalls by name, anything a sender makes up folded into `other`. */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.js';
import { EventTypeCounter } from '../../src/metrics/event-types.js';
import { falcoEvent } from '../support/events.js';

describe('lanner_events_by_type_total', () => {
  it('labels known syscalls by name and bounds everything else', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const counter = new EventTypeCounter(metrics.eventsByType);
    for (const type of ['execve', 'execve', 'openat', 'x'.repeat(40), 'made-up-1', 'made-up-2']) counter.count(falcoEvent({ fields: { 'evt.type': type } }));
    counter.count(falcoEvent({}));
    const values = Object.fromEntries((await metrics.eventsByType.get()).values.map((v) => [v.labels['type'], v.value]));
    expect(values).toEqual({ execve: 2, openat: 1, other: 3, none: 1 });
  });
});
