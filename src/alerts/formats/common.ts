/** Small facts several formats derive the same way. */
import type { Alert } from '../alert.js';

/** `registry:5000/shop/checkout:1.8.2` → name `registry:5000/shop/checkout`, tag `1.8.2`. */
export function splitImage(image: string | null): { name: string; tag: string | null } | null {
  if (image === null) return null;
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  // A colon before the last slash belongs to a registry port, not a tag.
  if (colon > ref.lastIndexOf('/')) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: null };
}

/** Epoch milliseconds of a nanosecond time, as the number most schemas want. */
export function epochMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}

/** The host the alert is about: the node Lanner runs on, else the hostname Falco reported. */
export function hostOf(alert: Alert): string {
  return alert.node || alert.hostname;
}

/** Whether the workload is a container (Falco reports `host` for processes outside one). */
export function inContainer(alert: Alert): boolean {
  const id = alert.workload.container_id;
  return id !== null && id !== '' && id !== 'host';
}

export const PRODUCT = { vendor: 'Lanner', name: 'Lanner' } as const;
