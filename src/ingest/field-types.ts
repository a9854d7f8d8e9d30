/**
 * Types of the Falco fields whose JSON rendering is not a string. Over gRPC Falco sends every
 * `output_fields` value as text; over JSON it sends numbers and booleans natively. Converting
 * both through this table is what makes one event look the same whichever way it arrived.
 * Names follow `falco --list=syscall`; anything not listed is text.
 */

export type FieldKind = 'int' | 'bool';

const INT_FIELDS = [
  'evt.num', 'evt.time', 'evt.time.s', 'evt.rawtime', 'evt.rawtime.s', 'evt.rawtime.ns', 'evt.reltime',
  'evt.reltime.s', 'evt.reltime.ns', 'evt.latency', 'evt.latency.s', 'evt.latency.ns', 'evt.deltatime',
  'evt.deltatime.s', 'evt.deltatime.ns', 'evt.cpu', 'evt.rawres', 'evt.count', 'evt.buflen', 'evt.time.iso8601',
  'proc.pid', 'proc.ppid', 'proc.vpid', 'proc.pvpid', 'proc.sid', 'proc.vpgid', 'proc.pgid', 'proc.tty',
  'proc.loginshellid', 'proc.nthreads', 'proc.nchilds', 'proc.fdopencount', 'proc.fdlimit', 'proc.vmsize',
  'proc.vmrss', 'proc.vmswap', 'proc.pid.ts', 'proc.ppid.ts', 'proc.duration', 'proc.ppid.duration',
  'proc.exe_ino', 'proc.exe_ino.ctime', 'proc.exe_ino.mtime', 'proc.cwd_ino',
  'thread.tid', 'thread.vtid', 'thread.exectime', 'thread.totexectime',
  'user.uid', 'user.loginuid', 'group.gid',
  'fd.num', 'fd.cport', 'fd.sport', 'fd.lport', 'fd.rport', 'fd.dev', 'fd.dev.major', 'fd.dev.minor',
  'fd.ino',
  'container.start_ts', 'container.duration', 'container.cpu.shares', 'container.memory.limit',
  'container.cpu.quota', 'container.cpu.period',
  // Falco's own "syscall event drop" alerts, not filter fields.
  'n_drops', 'n_drops_buffer_total', 'n_drops_bug', 'n_drops_pf', 'n_drops_scratch_map', 'n_evts',
] as const;

const BOOL_FIELDS = [
  'container.privileged', 'proc.is_exe_writable', 'proc.is_exe_upper_layer', 'proc.is_exe_from_memfd',
  'proc.is_container_healthcheck', 'proc.is_container_liveness_probe', 'proc.is_container_readiness_probe',
  'proc.is_sid_leader', 'proc.is_vpgid_leader', 'proc.exe_writable', 'proc.is_exe_lower_layer',
  'evt.is_open_read', 'evt.is_open_write', 'evt.is_open_exec', 'evt.is_open_create', 'evt.failed',
  'fd.connected', 'fd.is_server', 'thread.ismain', 'container.host_pid',
  'container.host_network', 'container.host_ipc',
] as const;

/** Every field typed here by name (indexed names aside); rules/field-catalog.ts must agree. */
export const FIELD_KINDS: ReadonlyMap<string, FieldKind> = new Map<string, FieldKind>([
  ...INT_FIELDS.map((f) => [f, 'int'] as const),
  ...BOOL_FIELDS.map((f) => [f, 'bool'] as const),
]);

// proc.apid[N] and friends carry an index argument.
const INDEXED_INT = /^(?:proc\.apid|proc\.aname_pid)\[\d+\]$/;

export function fieldKind(name: string): FieldKind | undefined {
  const kind = FIELD_KINDS.get(name);
  if (kind !== undefined) return kind;
  // Only indexed names end in ']'; testing that first keeps the regex off the per-field path.
  return name.charCodeAt(name.length - 1) === 0x5d && INDEXED_INT.test(name) ? 'int' : undefined;
}
