/**
 * The normalized Falco event: one shape whichever transport (gRPC, HTTP, JSON lines) brought it.
 */

/** A field value as rules see it: numbers are numbers, integers beyond 2^53 are bigints. */
export type FieldValue = string | number | bigint | boolean | null | readonly string[];

export type Fields = Readonly<Record<string, FieldValue>>;

export type Transport = 'grpc' | 'http' | 'file';

/** Falco's priorities, most severe first; the index is Falco's numeric priority. */
export const PRIORITIES = [
  'Emergency',
  'Alert',
  'Critical',
  'Error',
  'Warning',
  'Notice',
  'Informational',
  'Debug',
] as const;

export type Priority = (typeof PRIORITIES)[number];

/** Tag that marks an event forwarded by Lanner's Falco feed rules: detection input, not an alert. */
export const FEED_TAG = 'lanner_feed';

export interface FalcoEvent {
  /** Event time in integer nanoseconds since the epoch, exact. */
  readonly timeNs: bigint;
  readonly rule: string;
  readonly priority: Priority;
  readonly source: string;
  readonly hostname: string;
  readonly tags: readonly string[];
  readonly fields: Fields;
  /** Falco's rendered output line, as Falco wrote it. */
  readonly output: string;
  /** Falcosidekick's event id, when the sender set one. */
  readonly uuid?: string;
  readonly transport: Transport;
  /** True for raw syscall events forwarded by the feed rules (tag `lanner_feed`). */
  readonly feed: boolean;
}

export function priorityRank(p: Priority): number {
  return PRIORITIES.indexOf(p);
}
