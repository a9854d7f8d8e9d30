/**
 * Kill: signal the offending process on this node. Off by default, and the bluntest tool here:
 * it needs the DaemonSet to share the host's PID namespace (`hostPID: true`) and the right to
 * signal other users' processes (root, or CAP_KILL). Before signalling, the process must still be
 * the one the alert named (its /proc/<pid>/comm), so a recycled PID is never hit.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineResponder, refused, type ActionRequest, type Responder, type ResponderContext, type Verdict } from './responder.js';

const SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGSTOP'] as const;

export interface KillOptions {
  readonly enabled: boolean;
  readonly signal: (typeof SIGNALS)[number];
  /** Where the host's processes are seen: /proc with hostPID, or a mounted copy in tests. */
  readonly procRoot: string;
}

export class KillResponder implements Responder {
  readonly name = 'kill';
  readonly targetKind = 'process' as const;

  constructor(private readonly o: KillOptions) {}

  async run(request: ActionRequest, ctx: ResponderContext): Promise<Verdict> {
    const { pid, processName } = request.target;
    if (pid === undefined || !processName) return refused('no_target', 'the alert names no process id and name to signal');
    if (pid <= 1 || pid === process.pid) return refused('process_protected', `process ${pid} is init or Lanner itself`);
    // Killing a host daemon can take the node down; only container processes are fair game.
    const container = request.alert?.workload.container_id;
    if (!container || container === 'host') return refused('process_protected', `process ${pid} (${processName}) runs on the host, not in a container`);
    let comm: string;
    try {
      comm = (await readFile(join(this.o.procRoot, String(pid), 'comm'), 'utf8')).trim();
    } catch {
      return refused('process_mismatch', `process ${pid} (${processName}) has already exited, or this Lanner cannot see the host's processes (hostPID)`);
    }
    // The kernel keeps 15 bytes of a command name in comm.
    if (comm !== processName.slice(0, 15)) return refused('process_mismatch', `process ${pid} is now ${comm}, not ${processName}: its PID was reused`);
    if (ctx.dryRun) return { outcome: 'dry_run', message: `would send ${this.o.signal} to process ${pid} (${processName})` };
    try {
      process.kill(pid, this.o.signal);
    } catch (err) {
      return { outcome: 'failed', reason: 'signal_error', message: `cannot signal process ${pid}: ${(err as Error).message}` };
    }
    return { outcome: 'executed', message: `sent ${this.o.signal} to process ${pid} (${processName})` };
  }
}

export const killDescriptor = defineResponder({
  name: 'kill',
  summary: "Sends a signal (SIGKILL by default) to the alert's process on this node. Off by default.",
  targetKind: 'process',
  example: ['kill:', '  enabled: true', '  signal: SIGKILL', ''].join('\n'),
  options: z
    .object({
      enabled: z.boolean().default(false).describe("signal the alert's process on the node; needs hostPID: true and root or CAP_KILL"),
      signal: z.enum(SIGNALS).default('SIGKILL').describe('the signal sent'),
      proc_root: z.string().min(1).default('/proc').describe("where the host's processes are read, to check a PID still names the alert's process"),
    })
    .strict(),
  needs: { rbac: [], files: ['actions.kill.proc_root'], pod: 'hostPID: true on the DaemonSet, and root or CAP_KILL in the container' },
  optionsFrom: (block): KillOptions => ({ enabled: block.enabled, signal: block.signal, procRoot: block.proc_root }),
  create: (o) => new KillResponder(o),
});
