/** Every output kind Lanner can build, looked up by the `type` a config names. */
import type { OutputDescriptor } from './output.js';
import { stdoutDescriptor } from './stdout.js';

export const OUTPUTS: readonly OutputDescriptor[] = [stdoutDescriptor];

export function findOutput(type: string): OutputDescriptor | undefined {
  return OUTPUTS.find((d) => d.type === type);
}
