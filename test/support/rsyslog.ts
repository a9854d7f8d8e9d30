/**
 * A real rsyslogd for the syslog output's tests, started on loopback with its own config, work
 * directory and pid file under a temporary directory, stopped by its own pid. It receives RFC 5424
 * over TCP (octet-counted framing) and UDP, and over TLS when given certificates (the `gtls`
 * driver of Debian's rsyslog-gnutls, requiring a client certificate signed by the given CA), and
 * writes, per message, what it parsed: hostname, app-name, msgid, structured data and msg, one
 * field per line-separated record. Without rsyslogd (or rsyslog-gnutls, for TLS) the tests skip
 * loudly; under CI=true they fail, because CI must not pass untested.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p)) ?? (spawnSync('which', ['rsyslogd']).stdout?.toString().trim() || undefined);

export function rsyslogOrSkip(): boolean {
  if (RSYSLOGD) return true;
  const message = 'rsyslogd is not installed (Debian package rsyslog): the real-syslog tests are skipped';
  if (process.env['CI'] === 'true') throw new Error(`${message}; under CI=true this is a failure`);
  console.warn(`\n*** ${message} ***\n`);
  return false;
}

/** rsyslog's GnuTLS network stream driver (Debian package rsyslog-gnutls). */
export const RSYSLOG_GTLS = ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog', '/usr/lib64/rsyslog']
  .map((d) => join(d, 'lmnsd_gtls.so'))
  .find((p) => existsSync(p));

export function rsyslogTlsOrSkip(): boolean {
  if (RSYSLOGD && RSYSLOG_GTLS) return true;
  const message = "rsyslog's TLS driver is not installed (Debian package rsyslog-gnutls): the syslog-over-TLS tests are skipped";
  if (process.env['CI'] === 'true') throw new Error(`${message}; under CI=true this is a failure`);
  console.warn(`\n*** ${message} ***\n`);
  return false;
}

/** PEM files for rsyslog's TLS input: its certificate and key, and the CA client certificates must chain to. */
export interface RsyslogTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** One parsed message as rsyslog saw it. */
export interface Parsed {
  readonly hostname: string;
  readonly appName: string;
  readonly msgId: string;
  readonly structuredData: string;
  readonly msg: string;
}

export interface Rsyslog {
  readonly tcpPort: number;
  readonly udpPort: number;
  /** The TLS port, when started with certificates. */
  readonly tlsPort: number | undefined;
  /** Every message written so far. */
  parsed(): Parsed[];
  stop(): Promise<void>;
}

// A record separator rsyslog will not find in our fields, since they are single-line text.
const SEP = '\u001e';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export async function startRsyslog(options: { tls?: RsyslogTls } = {}): Promise<Rsyslog> {
  const dir = mkdtempSync(join(tmpdir(), 'lanner-rsyslog-'));
  const out = join(dir, 'parsed.log');
  const tcpPort = await freePort();
  const udpPort = await freePort();
  const tls = options.tls;
  const tlsPort = tls ? await freePort() : undefined;
  writeFileSync(
    join(dir, 'rsyslog.conf'),
    [
      `global(workDirectory="${dir}")`,
      'module(load="imtcp")',
      'module(load="imudp")',
      `input(type="imtcp" port="${tcpPort}" address="127.0.0.1" ruleset="lanner")`,
      `input(type="imudp" port="${udpPort}" address="127.0.0.1" ruleset="lanner")`,
      // TLS only (mode 1), and only for clients whose certificate chains to the CA (x509/certvalid).
      ...(tls
        ? [
            `input(type="imtcp" port="${tlsPort}" address="127.0.0.1" ruleset="lanner" streamDriver.name="gtls" streamDriver.mode="1"` +
              ` streamDriver.authMode="x509/certvalid" streamDriver.caFile="${tls.ca}" streamDriver.certFile="${tls.cert}" streamDriver.keyFile="${tls.key}")`,
          ]
        : []),
      `template(name="parsed" type="string" string="%hostname%${SEP}%app-name%${SEP}%msgid%${SEP}%structured-data%${SEP}%msg%\\n")`,
      `ruleset(name="lanner") { action(type="omfile" file="${out}" template="parsed") }`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(RSYSLOGD!, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const listening = async (): Promise<boolean> => {
    if (child.exitCode !== null) throw new Error(`rsyslogd exited with ${child.exitCode}`);
    return (await canConnect(tcpPort)) && (tlsPort === undefined || (await canConnect(tlsPort)));
  };
  await waitFor(listening, { what: 'rsyslogd to listen', intervalMs: 50 }).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`rsyslogd did not start (${err.message}): ${stderr}`);
  });
  return {
    tcpPort,
    udpPort,
    tlsPort,
    parsed() {
      if (!existsSync(out)) return [];
      return readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const [hostname = '', appName = '', msgId = '', structuredData = '', msg = ''] = l.split(SEP);
          return { hostname, appName, msgId, structuredData, msg: msg.replace(/^ /, '') };
        });
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
