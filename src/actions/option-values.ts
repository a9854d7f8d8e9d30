/** Kinds of value the `actions:` keys share, each validated the same way wherever it appears. */
import { z } from 'zod';
import { positiveDurationMs } from '../core/units.js';

/** A duration above zero, defaulting to `fallback` as a person writes it ('24h'); parsed to ms. */
export function durationOption(fallback: string) {
  return positiveDurationMs.prefault(fallback);
}

/** A Kubernetes object name such as a namespace. */
export const kubernetesName = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a Kubernetes name (lower case, digits, -)');
