/**
 * The fields Lanner's Falco feed rules forward with every raw syscall event (deploy/'s feed
 * rules put exactly these in their output). A rule condition can be evaluated on feed events
 * only when every field it reads is here, is derived from fields here (fields.ts), or is part
 * of the event envelope.
 */
import { DERIVED_FIELDS, isEnvelopeField } from './fields.js';

const EVT_ARGS = [
  'flags', 'mode', 'uid', 'ruid', 'euid', 'target', 'linkpath', 'name', 'path', 'fd', 'dev', 'dir', 'type', 'request',
  'pid', 'nstype', 'oldpath', 'newpath', 'filename', 'pathname',
] as const;

export const FEED_FIELDS: ReadonlySet<string> = new Set<string>([
  'evt.time', 'evt.type', 'evt.res', 'evt.args', 'evt.dir', 'evt.rawres', 'evt.is_open_exec',
  ...EVT_ARGS.map((a) => `evt.arg.${a}`),
  'proc.pid', 'proc.ppid', 'proc.name', 'proc.exepath', 'proc.exe', 'proc.cmdline', 'proc.pname', 'proc.pcmdline',
  'proc.aname[2]', 'proc.aname[3]', 'proc.tty', 'proc.sid', 'proc.vpid', 'proc.loginshellid',
  'user.uid', 'user.name', 'user.loginuid', 'group.gid',
  'fd.num', 'fd.type', 'fd.name', 'fd.directory', 'fd.filename', 'fd.sip', 'fd.sport', 'fd.cip', 'fd.cport', 'fd.l4proto',
  'container.id', 'container.name', 'container.image.repository', 'container.image.tag', 'container.privileged',
  'k8s.ns.name', 'k8s.pod.name',
]);

/** Whether a field can be read from an event that carries `available` (the feed set by default). */
export function isEvaluable(key: string, available: ReadonlySet<string> = FEED_FIELDS): boolean {
  if (available.has(key) || isEnvelopeField(key)) return true;
  const derived = DERIVED_FIELDS.get(key);
  return derived !== undefined && derived.from.every((f) => available.has(f));
}
