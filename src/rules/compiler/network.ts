/**
 * Falco's address and network fields, compared as libsinsp compares them.
 *
 * `fd.snet`, `fd.cnet`, `fd.lnet`, `fd.rnet` are PT_IPNET fields: the server, client, local or
 * remote address of the fd, tested against networks. `fd.sip`, `fd.cip`, `fd.lip`, `fd.rip`
 * are PT_IPADDR fields, the same ends tested against addresses: `fd.sip = "fd00::1"` matches
 * `fd00:0:0:0:0:0:0:1` too, as text would not. `fd.net` (a network) and `fd.ip` (an
 * address) match either end of the connection. libsinsp (sinsp_filtercheck_fd.cpp,
 * `compare_net` and `compare_ip`) compares each end on its own with the operator and combines:
 *
 * - `=` and `in`: the check holds when either end holds (client OR server);
 * - `!=`: when both ends hold `!=`, i.e. neither end is in the network / is the address;
 * - a listening socket has one address, compared alone; no socket, no address: the check is
 *   false whatever the operator, `!=` included;
 * - `intersects` is accepted when the rule loads, but `compare_net` returns false for it on a
 *   connected socket (it combines only `=`, `in` and `!=`), and `compare_ip` refuses it; with
 *   one address it is `in`. Lanner does the same: false with two ends, `in` with one.
 *
 * Literals (value_parser.cpp, tuples.cpp): on a network field, text with a '.' is an IPv4
 * network `a.b.c.d/len` (len 0..32), anything else an IPv6 network `addr/len` (len 1..128),
 * contained as in `flt_compare_ipv4net`/`ipv6net::in_cidr`. A network without a `/len` is an
 * error, as in Falco ("unrecognized IP network"). On an address field, text with a '.' is an
 * IPv4 address (inet_pton: four decimal parts, no leading zeros), anything else an IPv6
 * address. An address of the other family never
 * matches: `=` is false and `!=` true (flt_compare returns `op == CO_NE` when the sizes differ).
 * Values are parsed the same way; a value that is not an address counts as no value.
 */
import type { FieldValue } from '../../core/event.js';
import type { Operand, Operator } from '../language/ast.js';

export type NetworkKind = 'net' | 'ip';

export interface NetworkField {
  readonly kind: NetworkKind;
  /** Whether the field matches either end of the connection. */
  readonly eitherEnd: boolean;
  /** For an address field, the network field of the same end, for messages. */
  readonly network?: string;
}

/** Network and address fields, by name. */
const FIELDS: ReadonlyMap<string, NetworkField> = new Map<string, NetworkField>([
  ['fd.net', { kind: 'net', eitherEnd: true }],
  ['fd.snet', { kind: 'net', eitherEnd: false }],
  ['fd.cnet', { kind: 'net', eitherEnd: false }],
  ['fd.lnet', { kind: 'net', eitherEnd: false }],
  ['fd.rnet', { kind: 'net', eitherEnd: false }],
  ['fd.ip', { kind: 'ip', eitherEnd: true, network: 'fd.net' }],
  ['fd.sip', { kind: 'ip', eitherEnd: false, network: 'fd.snet' }],
  ['fd.cip', { kind: 'ip', eitherEnd: false, network: 'fd.cnet' }],
  ['fd.lip', { kind: 'ip', eitherEnd: false, network: 'fd.lnet' }],
  ['fd.rip', { kind: 'ip', eitherEnd: false, network: 'fd.rnet' }],
]);

/** The network kind of a plain field operand; undefined for any other operand. */
export function networkField(o: Operand): NetworkField | undefined {
  return o.kind === 'field' && o.arg === undefined ? FIELDS.get(o.name) : undefined;
}

/** Operators Falco accepts on address and network fields (flt_is_comparable_ip_or_net). */
export const NETWORK_OPERATORS: ReadonlySet<Operator> = new Set<Operator>(['=', '==', '!=', 'in', 'intersects', 'exists']);

/** An address: IPv4 as a 32-bit number, IPv6 as a 128-bit bigint. */
export type Address = { readonly v6: false; readonly n: number } | { readonly v6: true; readonly n: bigint };

/** A network: the address bits under the mask must equal the network's. */
type Network = { readonly v6: false; readonly net: number; readonly mask: number } | { readonly v6: true; readonly net: bigint; readonly mask: bigint };

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * An IPv4 address as inet_pton(AF_INET) reads it: four decimal parts, no leading zeros. Read
 * character by character: it runs for every event's destination in every rule on networks.
 */
export function parseIPv4(text: string): number | undefined {
  const len = text.length;
  if (len < 7 || len > 15) return undefined;
  let n = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= len; i++) {
    const c = i === len ? 0x2e : text.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (digits === 0 || part > 255 || ++parts > 4) return undefined;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      // a leading zero is allowed only as the whole part
      if (digits === 1 && part === 0) return undefined;
      part = part * 10 + (c - 0x30);
      if (++digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? n : undefined;
}

/** An IPv6 address as inet_pton(AF_INET6) reads it, dotted IPv4 tail included. */
export function parseIPv6(text: string): bigint | undefined {
  if (text.length === 0 || text.includes(':::')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else if (HEX_GROUP.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // a dotted tail belongs at the very end only
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined;
  const count = head.length + tail.length;
  if (halves.length === 2 ? count > 7 : count !== 8) return undefined;
  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(g);
  return n;
}

/** A value as an address, in the textual forms Falco renders: IPv6 when it has a ':'. */
function parseAddress(text: string): Address | undefined {
  if (text.includes(':')) {
    const n = parseIPv6(text);
    return n === undefined ? undefined : { v6: true, n };
  }
  const n = parseIPv4(text);
  return n === undefined ? undefined : { v6: false, n };
}

// The last value read as an address: every network check of an event reads the same fd.sip,
// so one entry spares the parse for all of them but the first.
let lastText: string | undefined;
let lastAddress: Address | undefined;

/** A field value as an address; undefined for anything that is not one. */
function valueAddress(v: unknown): Address | undefined {
  if (typeof v !== 'string') return undefined;
  if (v !== lastText) {
    lastText = v;
    lastAddress = parseAddress(v);
  }
  return lastAddress;
}

const V6_ALL = (1n << 128n) - 1n;

function v4Mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

function v6Mask(len: number): bigint {
  return len === 0 ? 0n : (V6_ALL >> BigInt(128 - len)) << BigInt(128 - len);
}

/** A literal of a network or address field: what it matches, or why Falco refuses it. */
export type ParsedLiteral =
  | { readonly ok: true; readonly network: Network }
  | { readonly ok: false; readonly error: string };

/** Parses a literal of a field of `kind`, by Falco's rules (see the top of this file). */
export function parseNetworkLiteral(text: string, field: NetworkField): ParsedLiteral {
  const v4 = text.includes('.');
  if (field.kind === 'ip') {
    const addr = v4 ? parseIPv4(text) : parseIPv6(text);
    if (addr === undefined) {
      const hint = text.includes('/') && field.network ? `: to compare with a network, use ${field.network}` : '';
      return { ok: false, error: `'${text}' is not an ${v4 ? 'IPv4' : 'IPv6'} address${hint}` };
    }
    return { ok: true, network: exact(v4 ? { v6: false, n: addr as number } : { v6: true, n: addr as bigint }) };
  }
  const slash = text.indexOf('/');
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  const family = v4 ? 'IPv4' : 'IPv6';
  const addr = v4 ? parseIPv4(ipText) : parseIPv6(ipText);
  if (addr === undefined) return { ok: false, error: `'${text}' is not an ${family} network (address/prefix length, e.g. ${v4 ? '10.0.0.0/8' : 'fd00::/8'})` };
  if (lenText === undefined) {
    return { ok: false, error: `'${text}' has no prefix length: a network needs one, as in Falco (${text}/${v4 ? 32 : 128} for this one address)` };
  }
  const max = v4 ? 32 : 128;
  const min = v4 ? 0 : 1;
  if (!/^[0-9]{1,3}$/.test(lenText) || Number(lenText) < min || Number(lenText) > max) {
    return { ok: false, error: `'${text}' has an invalid ${family} prefix length '${lenText}' (${min} to ${max})` };
  }
  const len = Number(lenText);
  if (v4) {
    const mask = v4Mask(len);
    return { ok: true, network: { v6: false, net: ((addr as number) & mask) >>> 0, mask } };
  }
  const mask = v6Mask(len);
  return { ok: true, network: { v6: true, net: (addr as bigint) & mask, mask } };
}

function exact(a: Address): Network {
  return a.v6 ? { v6: true, net: a.n, mask: V6_ALL } : { v6: false, net: a.n, mask: 0xffffffff };
}

function contains(n: Network, a: Address): boolean {
  if (n.v6) return a.v6 && (a.n & n.mask) === n.net;
  return !a.v6 && ((a.n & n.mask) >>> 0) === n.net;
}

/**
 * The test of a check on a network field or `fd.ip` with literal `items` (already expanded);
 * undefined for an operator Falco refuses there. Literals Falco refuses match nothing (lint
 * reports them). The value is one address, or for the either-end fields a list of the ends
 * present (see fields.ts).
 */
export function networkTest(op: Operator, items: readonly string[], field: NetworkField): ((v: FieldValue | undefined) => boolean) | undefined {
  if (!NETWORK_OPERATORS.has(op) || op === 'exists') return undefined;
  const nets: Network[] = [];
  for (const item of op === 'in' || op === 'intersects' ? items : items.slice(0, 1)) {
    const p = parseNetworkLiteral(item, field);
    if (p.ok) nets.push(p.network);
  }
  const inAny = (a: Address): boolean => {
    for (let i = 0; i < nets.length; i++) if (contains(nets[i]!, a)) return true;
    return false;
  };
  const negate = op === '!=';
  return (v) => {
    if (v === undefined || v === null) return false;
    let ends = 0;
    let held = 0;
    if (typeof v === 'object') {
      for (let i = 0; i < v.length; i++) {
        const a = valueAddress(v[i]);
        if (a === undefined) continue;
        ends++;
        if (inAny(a)) held++;
      }
    } else {
      const a = valueAddress(v);
      if (a !== undefined) {
        ends = 1;
        if (inAny(a)) held = 1;
      }
    }
    if (ends === 0) return false;
    if (negate) return held === 0;
    if (op === 'intersects' && field.eitherEnd && ends > 1) return false;
    return held > 0;
  };
}

function sameAddress(a: Address, b: Address): boolean {
  return a.v6 === b.v6 && a.n === b.n;
}

/** The addresses a value holds: one, or the ends of an either-end field; none when not addresses. */
function addressesOf(v: FieldValue | undefined): Address[] {
  if (v === undefined || v === null) return [];
  const out: Address[] = [];
  for (const item of typeof v === 'object' ? v : [v]) {
    const a = typeof item === 'string' ? parseAddress(item) : undefined;
    if (a) out.push(a);
  }
  return out;
}

/**
 * `fd.sip = val(fd.cip)` and the like: both sides read per event and compared as addresses,
 * either end for `fd.ip` as with literals. A network field has no address to compare with
 * another field's value (libsinsp compares them by the network's size and finds no match), so
 * it is undefined there, as for operators Falco refuses.
 */
export function addressPairTest(op: Operator, field: NetworkField): ((a: FieldValue | undefined, b: FieldValue | undefined) => boolean) | undefined {
  if (field.kind !== 'ip' || !NETWORK_OPERATORS.has(op) || op === 'exists') return undefined;
  const negate = op === '!=';
  return (a, b) => {
    const left = addressesOf(a);
    const right = addressesOf(b);
    if (left.length === 0 || right.length === 0) return false;
    const held = left.some((x) => right.some((y) => sameAddress(x, y)));
    return negate ? !held : held;
  };
}
