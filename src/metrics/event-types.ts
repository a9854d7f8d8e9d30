/**
 * Events counted by their syscall (`evt.type`), for the dashboard's events-by-type panel. The
 * label takes only names from a fixed list, so an HTTP sender posting made-up types cannot grow
 * the series count: anything else is `other`, an event without a type `none`.
 */
import type { Counter } from 'prom-client';
import type { FalcoEvent } from '../core/event.js';
import { ChildCache } from './child-cache.js';
import { deferredCount, type DeferredCount } from './deferred.js';

/** The syscalls of Lanner's feed kit, and the others Falco's own rules alert on most. */
export const KNOWN_EVENT_TYPES: readonly string[] = [
  'execve', 'execveat', 'clone', 'clone3', 'fork', 'vfork', 'procexit',
  'setuid', 'setreuid', 'setresuid', 'setgid', 'setregid', 'setresgid', 'capset', 'prctl',
  'open', 'openat', 'openat2', 'creat', 'read', 'write', 'pwrite', 'close',
  'chmod', 'fchmod', 'fchmodat', 'chown', 'fchown', 'fchownat', 'lchown',
  'symlink', 'symlinkat', 'link', 'linkat', 'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2', 'mkdir', 'mkdirat', 'rmdir',
  'connect', 'accept', 'accept4', 'bind', 'listen', 'socket', 'sendto', 'sendmsg', 'recvfrom', 'recvmsg',
  'dup', 'dup2', 'dup3', 'mount', 'umount', 'umount2', 'unshare', 'setns', 'chroot', 'pivot_root',
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'init_module', 'finit_module', 'delete_module',
  'memfd_create', 'mmap', 'mprotect', 'bpf', 'kill', 'tgkill', 'ioctl', 'userfaultfd', 'container',
];

export class EventTypeCounter {
  private readonly known = new Set(KNOWN_EVENT_TYPES);
  private readonly children: ChildCache<[type: string], DeferredCount>;

  constructor(counter: Counter<'type'>) {
    // Room for every known name plus `other` and `none`: the fixed list is the bound, never the overflow.
    this.children = new ChildCache((type: string) => deferredCount(counter, { type }), { maxChildren: this.known.size + 2 });
  }

  count(event: FalcoEvent): void {
    const raw = event.fields['evt.type'];
    const type = typeof raw !== 'string' ? 'none' : this.known.has(raw) ? raw : 'other';
    this.children.get(type).inc();
  }
}
