/**
 * Which field names exist in Falco, and of what type. For the core syscall classes Lanner keeps
 * the list of fields (`falco --list=syscall`), so a typo there is a warning; classes that plugins
 * define (k8s audit, cloudtrail, ...) are accepted by class only. A field of no known class is an
 * error: it can never match anything. A field's type decides how its values compare and which
 * operators Falco accepts on it (see FieldType).
 */
import type { Operand } from '../language/ast.js';

/** Classes whose every field is listed below: an unlisted field of these is a warning. */
const LISTED: Readonly<Record<string, readonly string[]>> = {
  evt: [
    'num', 'time', 'time.s', 'time.iso8601', 'datetime', 'datetime.s', 'rawtime', 'rawtime.s', 'rawtime.ns',
    'reltime', 'reltime.s', 'reltime.ns', 'deltatime', 'deltatime.s', 'deltatime.ns', 'outputtime', 'dir', 'type',
    'type.is', 'syscall.type', 'category', 'cpu', 'args', 'arg', 'rawarg', 'info', 'buffer', 'buflen', 'res', 'rawres',
    'failed', 'is_io', 'is_io_read', 'is_io_write', 'io_dir', 'is_wait', 'wait_latency', 'is_syslog', 'count',
    'count.error', 'count.error.file', 'count.error.net', 'count.error.memory', 'count.error.other', 'count.exit',
    'around', 'abspath', 'abspath.src', 'abspath.dst', 'is_open_read', 'is_open_write', 'is_open_exec',
    'is_open_create', 'latency', 'latency.s', 'latency.ns', 'latency.quantized', 'latency.human', 'pluginname',
    'plugininfo', 'source', 'is_async', 'asynctype', 'hostname',
  ],
  proc: [
    'exe', 'pexe', 'aexe', 'exepath', 'pexepath', 'aexepath', 'name', 'pname', 'aname', 'args', 'cmdline', 'pcmdline',
    'acmdline', 'cmdnargs', 'cmdlenargs', 'exeline', 'env', 'aenv', 'cwd', 'loginshellid', 'tty', 'pid', 'ppid', 'apid',
    'vpid', 'pvpid', 'sid', 'sname', 'sid.exe', 'sid.exepath', 'vpgid', 'vpgid.name', 'vpgid.exe', 'vpgid.exepath',
    'pgid', 'pgid.name', 'pgid.exe', 'pgid.exepath', 'duration', 'ppid.duration', 'pid.ts', 'ppid.ts',
    'is_exe_writable', 'is_exe_upper_layer', 'is_exe_lower_layer', 'is_exe_from_memfd', 'is_sid_leader',
    'is_vpgid_leader', 'is_pgid_leader', 'exe_ino', 'exe_ino.ctime', 'exe_ino.mtime',
    'exe_ino.ctime_duration_proc_start', 'exe_ino.ctime_duration_pidns_start', 'pidns_init_start_ts', 'fdopencount',
    'fdlimit', 'fdusage', 'vmsize', 'vmrss', 'vmswap', 'pfmajor', 'pfminor', 'nthreads', 'nchilds', 'cpu', 'cpu.user',
    'cpu.system', 'is_container_healthcheck', 'is_container_liveness_probe', 'is_container_readiness_probe',
    'stdin.type', 'stdout.type', 'stderr.type', 'stdin.name', 'stdout.name', 'stderr.name', 'cwd_ino', 'exe_writable',
    'aname_pid', 'ppid.exe',
  ],
  thread: [
    'tid', 'ptid', 'vtid', 'ismain', 'exectime', 'totexectime', 'cgroups', 'cgroup', 'nametid', 'cap_permitted',
    'cap_inheritable', 'cap_effective', 'vmsize', 'vmrss', 'vmsize.b', 'vmrss.b', 'cpu', 'cpu.user', 'cpu.system',
    'pfmajor', 'pfminor', 'nametid', 'tid.pid',
  ],
  user: ['uid', 'name', 'homedir', 'shell', 'loginuid', 'loginname'],
  group: ['gid', 'name'],
  fd: [
    'num', 'type', 'typechar', 'name', 'directory', 'filename', 'ip', 'cip', 'sip', 'lip', 'rip', 'port', 'cport',
    'sport', 'lport', 'rport', 'l4proto', 'sockfamily', 'is_server', 'uid', 'containername', 'containerdirectory',
    'proto', 'cproto', 'sproto', 'lproto', 'rproto', 'net', 'cnet', 'snet', 'lnet', 'rnet', 'connected',
    'name_changed', 'cip.name', 'sip.name', 'lip.name', 'rip.name', 'dev', 'dev.major', 'dev.minor', 'ino',
    'nameraw', 'types', 'fullpath',
  ],
  fdlist: ['nums', 'names', 'cips', 'sips', 'cports', 'sports'],
  fs: ['path.name', 'path.nameraw', 'path.source', 'path.sourceraw', 'path.target', 'path.targetraw'],
  syscall: ['type'],
  container: [
    'id', 'full_id', 'name', 'image', 'image.id', 'image.repository', 'image.tag', 'image.digest', 'type',
    'privileged', 'mounts', 'mount', 'mount.source', 'mount.dest', 'mount.mode', 'mount.rdwr', 'mount.propagation',
    'healthcheck', 'liveness_probe', 'readiness_probe', 'start_ts', 'duration', 'ip', 'cni.json', 'host_pid',
    'host_network', 'host_ipc', 'label', 'labels', 'cpu.shares', 'cpu.quota', 'cpu.period', 'cpu.set_cpu_count',
    'memory.limit', 'swap.limit', 'user',
  ],
  k8s: [
    'pod.name', 'pod.id', 'pod.uid', 'pod.sandbox_id', 'pod.full_sandbox_id', 'pod.label', 'pod.labels', 'pod.ip',
    'pod.cni.json', 'rc.name', 'rc.id', 'rc.label', 'rc.labels', 'svc.name', 'svc.id', 'svc.label', 'svc.labels',
    'ns.name', 'ns.id', 'ns.label', 'ns.labels', 'rs.name', 'rs.id', 'rs.label', 'rs.labels', 'deployment.name',
    'deployment.id', 'deployment.label', 'deployment.labels',
  ],
  // The event's own envelope (rule, priority, ...), which Lanner exposes as fields; see fields.ts.
  falco: ['rule', 'priority', 'source', 'hostname', 'tags'],
};

/** Prefixes under which any suffix names a field (`evt.arg.flags`, `evt.rawarg.res`). */
const OPEN_PREFIXES = ['evt.arg.', 'evt.rawarg.', 'evt.abspath.'];

/** Classes defined by plugins or older Falco versions: accepted without a field list. */
const PLUGIN_CLASSES = [
  'ka', 'jevt', 'k8saudit', 'ct', 'aws', 's3', 'okta', 'github', 'gcp', 'gcpaudit', 'json', 'span', 'mesos',
  'marathon', 'k8smeta', 'cgroup', 'evtin', 'docker', 'kubernetes', 'k8sres', 'lanner', 'plugin', 'dummy',
];

const LISTED_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries(LISTED).map(([cls, names]) => [cls, new Set(names)] as const),
);
const PLUGIN_CLASS_SET: ReadonlySet<string> = new Set(PLUGIN_CLASSES);

export type FieldNameCheck = 'known' | 'unknown-field' | 'unknown-class';

/** Whether `name` (without its `[arg]`) is a Falco field Lanner knows. */
export function checkFieldName(name: string): FieldNameCheck {
  const dot = name.indexOf('.');
  const cls = dot < 0 ? name : name.slice(0, dot);
  const rest = dot < 0 ? '' : name.slice(dot + 1);
  if (PLUGIN_CLASS_SET.has(cls)) return 'known';
  const listed = LISTED_FIELDS.get(cls);
  if (!listed) return 'unknown-class';
  if (listed.has(rest)) return 'known';
  return OPEN_PREFIXES.some((p) => name.startsWith(p)) ? 'known' : 'unknown-field';
}

/** Every field class Lanner knows, for messages. */
export function knownFieldClasses(): string[] {
  return [...LISTED_FIELDS.keys(), ...PLUGIN_CLASSES];
}

/**
 * How Falco compares a field's values, from the type it declares for the field
 * (`falco --list=syscall`): 'string' for CHARBUF and path fields, compared as text whatever the
 * literal looks like (`container.image.tag = 1.20` does not match `1.2`); 'number' for integer,
 * time, port and double fields, compared as numbers; 'bool' for BOOL fields. Undefined for every
 * other field: plugin fields, `evt.arg.*` and `evt.rawarg.*` (typed by the event), addresses and
 * networks, byte buffers, and the time strings (Falco's JSON output renders `evt.time` as a
 * number), whose values compare by what they look like.
 */
export type FieldType = 'string' | 'number' | 'bool';

const TYPED: Readonly<Record<FieldType, Readonly<Record<string, readonly string[]>>>> = {
  string: {
    evt: [
      'dir', 'type', 'category', 'args', 'info', 'res', 'io_dir', 'abspath', 'abspath.src', 'abspath.dst',
      'pluginname', 'plugininfo', 'source', 'asynctype', 'hostname', 'latency.human',
    ],
    syscall: ['type'],
    proc: [
      'exe', 'pexe', 'aexe', 'exepath', 'pexepath', 'aexepath', 'name', 'pname', 'aname', 'args', 'cmdline',
      'pcmdline', 'acmdline', 'exeline', 'env', 'aenv', 'cwd', 'sname', 'sid.exe', 'sid.exepath', 'vpgid.name',
      'vpgid.exe', 'vpgid.exepath', 'pgid.name', 'pgid.exe', 'pgid.exepath',
    ],
    thread: ['cap_permitted', 'cap_inheritable', 'cap_effective', 'cgroups', 'cgroup'],
    user: ['name', 'homedir', 'shell', 'loginname'],
    group: ['name'],
    fd: [
      'type', 'typechar', 'name', 'directory', 'filename', 'l4proto', 'sockfamily', 'containername',
      'containerdirectory', 'cproto', 'sproto', 'lproto', 'rproto', 'cip.name', 'sip.name', 'lip.name', 'rip.name',
      'nameraw', 'types', 'uid',
    ],
    fdlist: ['nums', 'names', 'cips', 'sips', 'cports', 'sports'],
    fs: ['path.name', 'path.nameraw', 'path.source', 'path.sourceraw', 'path.target', 'path.targetraw'],
    container: [
      'id', 'full_id', 'name', 'image', 'image.id', 'image.repository', 'image.tag', 'image.digest', 'type', 'mounts',
      'mount', 'mount.source', 'mount.dest', 'mount.mode', 'mount.rdwr', 'mount.propagation', 'healthcheck',
      'liveness_probe', 'readiness_probe', 'ip', 'cni.json', 'label', 'labels', 'user',
    ],
    k8s: LISTED.k8s!,
    falco: ['rule', 'priority', 'source', 'hostname', 'tags'],
  },
  number: {
    evt: [
      'num', 'rawtime', 'rawtime.s', 'rawtime.ns', 'reltime', 'reltime.s', 'reltime.ns', 'latency', 'latency.s',
      'latency.ns', 'latency.quantized', 'deltatime', 'deltatime.s', 'deltatime.ns', 'type.is', 'cpu', 'buflen',
      'rawres', 'wait_latency', 'count', 'count.error', 'count.error.file', 'count.error.net', 'count.error.memory',
      'count.error.other', 'count.exit', 'around',
    ],
    proc: [
      'cmdnargs', 'cmdlenargs', 'loginshellid', 'tty', 'pid', 'ppid', 'apid', 'vpid', 'pvpid', 'sid', 'vpgid', 'pgid',
      'duration', 'ppid.duration', 'pid.ts', 'ppid.ts', 'exe_ino', 'exe_ino.ctime', 'exe_ino.mtime',
      'exe_ino.ctime_duration_proc_start', 'exe_ino.ctime_duration_pidns_start', 'pidns_init_start_ts',
      'fdopencount', 'fdlimit', 'fdusage', 'vmsize', 'vmrss', 'vmswap', 'nthreads', 'nchilds', 'cwd_ino',
    ],
    thread: [
      'tid', 'vtid', 'exectime', 'totexectime', 'pfmajor', 'pfminor', 'vmsize', 'vmrss', 'vmsize.b', 'vmrss.b',
      'cpu', 'cpu.user', 'cpu.system',
    ],
    user: ['uid', 'loginuid'],
    group: ['gid'],
    fd: ['num', 'port', 'cport', 'sport', 'lport', 'rport', 'dev', 'dev.major', 'dev.minor', 'ino'],
    container: [
      'start_ts', 'duration', 'cpu.shares', 'cpu.quota', 'cpu.period', 'cpu.set_cpu_count', 'memory.limit',
      'swap.limit',
    ],
  },
  bool: {
    evt: [
      'is_async', 'failed', 'is_io', 'is_io_read', 'is_io_write', 'is_wait', 'is_syslog', 'is_open_read',
      'is_open_write', 'is_open_exec', 'is_open_create',
    ],
    proc: [
      'is_exe_writable', 'is_exe_upper_layer', 'is_exe_lower_layer', 'is_exe_from_memfd', 'is_sid_leader',
      'is_vpgid_leader', 'is_pgid_leader', 'is_container_healthcheck', 'is_container_liveness_probe',
      'is_container_readiness_probe', 'exe_writable',
    ],
    thread: ['ismain'],
    fd: ['is_server', 'connected', 'name_changed'],
    container: ['privileged', 'host_pid', 'host_network', 'host_ipc'],
  },
};

const FIELD_TYPES: ReadonlyMap<string, FieldType> = new Map(
  (Object.entries(TYPED) as [FieldType, Readonly<Record<string, readonly string[]>>][]).flatMap(([type, classes]) =>
    Object.entries(classes).flatMap(([cls, names]) => names.map((n) => [`${cls}.${n}`, type] as const)),
  ),
);

/** Falco's type of a field (`name` without its `[arg]`); undefined where it is not known. */
export function fieldType(name: string): FieldType | undefined {
  return FIELD_TYPES.get(name);
}

/**
 * The type of what an operand reads: its field's, through transformers. `len` gives a number;
 * the text transformers give text when they read text.
 */
export function operandType(o: Operand): FieldType | undefined {
  if (o.kind === 'field') return fieldType(o.name);
  if (o.fn === 'len') return 'number';
  return operandType(o.operand) === 'string' ? 'string' : undefined;
}
