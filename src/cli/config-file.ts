/**
 * Which lanner.yaml a command reads. Its own module, so commands that only read config (replay,
 * check, baseline) do not load the service and its gRPC and Kubernetes clients with it.
 */
import { existsSync } from 'node:fs';

/** The config file to read: the flag's, else ./lanner.yaml when one exists. */
export function configFileFrom(flag: string | undefined): string | undefined {
  if (flag !== undefined) return flag;
  return existsSync('lanner.yaml') ? 'lanner.yaml' : undefined;
}
