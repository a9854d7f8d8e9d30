/**
 * Service names for port fields. libsinsp parses a port literal that is not a number with
 * getservbyname(3), so `fd.sport = https` is `fd.sport = 443` in Falco. Lanner keeps the common
 * names of the services database (Debian's /etc/services, aliases included) rather than read the
 * host's, so a rule means the same on every node.
 */

const SERVICES: Readonly<Record<string, number>> = {
  'ftp-data': 20, ftp: 21, ssh: 22, telnet: 23, smtp: 25, mail: 25, domain: 53, bootps: 67, bootpc: 68, tftp: 69,
  http: 80, www: 80, kerberos: 88, kerberos5: 88, krb5: 88, 'kerberos-sec': 88, pop3: 110, 'pop-3': 110,
  sunrpc: 111, portmapper: 111, ntp: 123, imap2: 143, imap: 143, snmp: 161, bgp: 179, ldap: 389, https: 443,
  'microsoft-ds': 445, syslog: 514, submission: 587, ldaps: 636, rsync: 873, imaps: 993, pop3s: 995, socks: 1080,
  openvpn: 1194, 'ms-sql-s': 1433, nfs: 2049, mysql: 3306, sip: 5060, postgresql: 5432, postgres: 5432, amqp: 5672,
  x11: 6000, 'x11-0': 6000, redis: 6379, 'http-alt': 8080, webcache: 8080, git: 9418, 'zabbix-agent': 10050,
};

/** Falco's port fields (PT_PORT). */
export const PORT_FIELDS: ReadonlySet<string> = new Set(['fd.port', 'fd.sport', 'fd.cport', 'fd.lport', 'fd.rport']);

/** The port a service name stands for; undefined for a name the database does not have. */
export function servicePort(name: string): number | undefined {
  return Object.hasOwn(SERVICES, name) ? SERVICES[name] : undefined;
}
