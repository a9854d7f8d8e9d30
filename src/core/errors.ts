/**
 * Every error Lanner reports to a user has a stable code. Users, scripts and tests match the
 * code; the message is for people and may improve. docs/errors.md documents each code, and a
 * test keeps the two in step.
 */

export const ERROR_CODES = {
  LANNER_CONFIG_INVALID: 'the configuration (file, LANNER_* environment or flags) failed validation',
  LANNER_CONFIG_READ: 'the configuration file could not be read or is not valid YAML',
  LANNER_USAGE: 'the command line is not valid for the command',
  LANNER_NO_SOURCE: 'nothing to read events from: neither Falco gRPC nor HTTP ingest nor an input file is configured',
  LANNER_RULES_INVALID: 'the rule files have errors, so the service does not start with them',
  LANNER_INPUT_READ: 'an input file of events could not be opened or read',
  LANNER_FILE_NOT_REGULAR: 'a file Lanner reads (config, rules, state, rule tests) is a FIFO, a device, a socket or a directory, not a regular file',
  LANNER_FILE_TOO_LARGE: 'a file Lanner reads is larger than the limit for its kind',
  LANNER_FILE_UNREADABLE: 'a file Lanner reads does not exist or cannot be read (permission, I/O error)',
  LANNER_LISTEN: 'a server could not listen on its configured address',
  LANNER_TLS_FILES: 'a TLS certificate, key or CA file could not be read',
  LANNER_KUBE_CONFIG: 'Kubernetes credentials (a kubeconfig or the in-cluster service account) could not be loaded',
  LANNER_ACTION_REFUSED: 'a manual response action was refused by the guardrails',
  LANNER_ACTION_FAILED: 'a manual response action was tried and failed (the Kubernetes API refused it or was unreachable)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class LannerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Individual problems, when one error stands for several (every config mistake at once). */
    readonly problems: readonly string[] = [],
  ) {
    super(message);
    this.name = 'LannerError';
  }
}

export function isLannerError(err: unknown): err is LannerError {
  return err instanceof LannerError;
}
