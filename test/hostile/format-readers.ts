/**
 * Strict readers for the text formats, written from their specifications rather than from our
 * writers, so a test can say "what a SIEM reads back is what was meant": a CEF:0 parser (the
 * ArcSight CEF specification's escapes and extension grammar), an RFC 5424 parser (the ABNF of
 * §6, structured data included) and an RFC 6587 octet-counting deframer. Each throws on anything
 * the specification does not allow, so a malformed record fails the test that produced it.
 */

/** One CEF record as a CEF reader sees it. */
export interface CefRecord {
  readonly version: string;
  readonly vendor: string;
  readonly product: string;
  readonly deviceVersion: string;
  readonly signatureId: string;
  readonly name: string;
  readonly severity: string;
  /** Extension keys in order, values unescaped. */
  readonly extension: ReadonlyMap<string, string>;
}

const RAW_LINE_BREAK = /[\r\n]/;

/** Parses one CEF:0 record: header fields split on unescaped `|`, then `key=value` pairs. */
export function parseCef(line: string): CefRecord {
  if (RAW_LINE_BREAK.test(line)) throw new Error('CEF record spans more than one line');
  if (!line.startsWith('CEF:')) throw new Error('CEF record must start with CEF:');
  const header: string[] = [];
  let field = '';
  let i = 4;
  while (header.length < 7) {
    if (i >= line.length) throw new Error(`CEF header has ${header.length + 1} of 8 fields`);
    const c = line[i]!;
    if (c === '\\') {
      const next = line[i + 1];
      // The header defines two escapes: \| and \\.
      if (next !== '|' && next !== '\\') throw new Error(`invalid header escape \\${next ?? ''} at ${i}`);
      field += next;
      i += 2;
    } else if (c === '|') {
      header.push(field);
      field = '';
      i++;
    } else {
      field += c;
      i++;
    }
  }
  const [version = '', vendor = '', product = '', deviceVersion = '', signatureId = '', name = '', severity = ''] = header;
  if (version !== '0') throw new Error(`CEF version ${version}`);
  if (!/^(10|[0-9])$/.test(severity)) throw new Error(`CEF severity ${JSON.stringify(severity)}`);
  return { version, vendor, product, deviceVersion, signatureId, name, severity, extension: parseExtension(line.slice(i)) };
}

/**
 * The extension: keys are alphanumeric, each `=` in a value is escaped, so every unescaped `=`
 * ends a key, which starts the extension or follows a space; a value runs to the space before
 * the next key. Escapes: \\ \= \n \r, nothing else.
 */
function parseExtension(ext: string): Map<string, string> {
  const equals: number[] = [];
  for (let i = 0; i < ext.length; i++) {
    const c = ext[i];
    if (c === '\\') {
      const next = ext[i + 1];
      if (next !== '\\' && next !== '=' && next !== 'n' && next !== 'r') throw new Error(`invalid extension escape \\${next ?? ''} at ${i}`);
      i++;
    } else if (c === '=') equals.push(i);
  }
  const keys: { key: string; start: number; eq: number }[] = [];
  for (const eq of equals) {
    let start = eq;
    while (start > 0 && /[A-Za-z0-9_]/.test(ext[start - 1]!)) start--;
    if (start === eq) throw new Error(`unescaped = without a key at ${eq}`);
    if (start !== 0 && ext[start - 1] !== ' ') throw new Error(`unescaped = inside a value at ${eq}`);
    keys.push({ key: ext.slice(start, eq), start, eq });
  }
  if (ext !== '' && keys[0]?.start !== 0) throw new Error('extension does not start with a key');
  const out = new Map<string, string>();
  keys.forEach(({ key, eq }, k) => {
    const end = k + 1 < keys.length ? keys[k + 1]!.start - 1 : ext.length;
    const raw = ext.slice(eq + 1, end);
    if (out.has(key)) throw new Error(`duplicate extension key ${key}`);
    out.set(key, raw.replace(/\\([\\=nr])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c)));
  });
  return out;
}

/** One RFC 5424 message as a receiver parses it. */
export interface Syslog5424 {
  readonly pri: number;
  readonly timestamp: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  /** SD-ELEMENTs in order, each with its parameters in order (names may repeat). */
  readonly sd: readonly { readonly id: string; readonly params: readonly (readonly [string, string])[] }[];
  /** MSG, or undefined when absent. */
  readonly msg: string | undefined;
}

const SD_NAME = /^[\x21-\x7e]{1,32}$/;

function sdNameValid(name: string): boolean {
  return SD_NAME.test(name) && !/[= \]"]/.test(name);
}

/** Parses one message by RFC 5424 §6: HEADER SP STRUCTURED-DATA [SP MSG]. */
export function parse5424(text: string): Syslog5424 {
  if (RAW_LINE_BREAK.test(text)) throw new Error('syslog message carries a line break');
  const head = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(text);
  if (!head) throw new Error(`not an RFC 5424 header: ${JSON.stringify(text.slice(0, 80))}`);
  const [, priText, timestamp, hostname, appName, procId, msgId] = head as unknown as [string, string, string, string, string, string, string];
  const pri = Number(priText);
  if (pri > 191 || (priText.length > 1 && priText.startsWith('0'))) throw new Error(`PRI ${priText}`);
  const printable = (v: string, max: number, what: string) => {
    if (v.length > max || !/^[\x21-\x7e]+$/.test(v)) throw new Error(`${what} ${JSON.stringify(v)}`);
  };
  printable(hostname, 255, 'HOSTNAME');
  printable(appName, 48, 'APP-NAME');
  printable(procId, 128, 'PROCID');
  printable(msgId, 32, 'MSGID');
  if (timestamp !== '-' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.test(timestamp)) throw new Error(`TIMESTAMP ${timestamp}`);
  let i = head[0].length;
  const sd: { id: string; params: [string, string][] }[] = [];
  if (text[i] === '-') i++;
  else {
    while (text[i] === '[') {
      i++;
      const idEnd = /[ \]]/g;
      idEnd.lastIndex = i;
      const end = idEnd.exec(text);
      if (!end) throw new Error('unterminated SD-ELEMENT');
      const id = text.slice(i, end.index);
      if (!sdNameValid(id)) throw new Error(`SD-ID ${JSON.stringify(id)}`);
      i = end.index;
      const params: [string, string][] = [];
      while (text[i] === ' ') {
        i++;
        const eq = text.indexOf('=', i);
        if (eq < 0) throw new Error('SD-PARAM without =');
        const name = text.slice(i, eq);
        if (!sdNameValid(name)) throw new Error(`PARAM-NAME ${JSON.stringify(name)}`);
        if (text[eq + 1] !== '"') throw new Error('PARAM-VALUE must be quoted');
        i = eq + 2;
        let value = '';
        const special = /[\\"\]]/g;
        for (;;) {
          special.lastIndex = i;
          const hit = special.exec(text);
          if (!hit) throw new Error('unterminated PARAM-VALUE');
          value += text.slice(i, hit.index);
          i = hit.index;
          const c = hit[0];
          if (c === '\\') {
            const next = text[i + 1];
            // §6.3.3: \" \\ \] are escapes; a backslash before anything else is itself.
            if (next === '"' || next === '\\' || next === ']') {
              value += next;
              i += 2;
            } else {
              value += '\\';
              i++;
            }
          } else if (c === '"') {
            i++;
            break;
          } else {
            throw new Error('unescaped ] in PARAM-VALUE');
          }
        }
        params.push([name, value]);
      }
      if (text[i] !== ']') throw new Error(`SD-ELEMENT not closed at ${i}`);
      i++;
      sd.push({ id, params });
    }
    if (sd.length === 0) throw new Error('STRUCTURED-DATA is neither - nor an SD-ELEMENT');
  }
  let msg: string | undefined;
  if (i < text.length) {
    if (text[i] !== ' ') throw new Error(`expected SP before MSG at ${i}`);
    msg = text.slice(i + 1);
  }
  return { pri, timestamp, hostname, appName, procId, msgId, sd, msg };
}

/** The value of the first parameter `name` of element `id`, or undefined. */
export function sdParam(m: Syslog5424, id: string, name: string): string | undefined {
  return m.sd.find((e) => e.id === id)?.params.find(([n]) => n === name)?.[1];
}

/** Splits a TCP stream framed by octet counting (RFC 6587 §3.4.1): `LEN SP MSG`, LEN in bytes. */
export function deframeOctetCounting(stream: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < stream.length) {
    const sp = stream.indexOf(0x20, i);
    const len = stream.subarray(i, sp).toString('ascii');
    if (sp < 0 || !/^[1-9]\d*$/.test(len)) throw new Error(`bad frame length at ${i}`);
    const end = sp + 1 + Number(len);
    if (end > stream.length) throw new Error(`frame at ${i} runs past the stream`);
    out.push(stream.subarray(sp + 1, end).toString('utf8'));
    i = end;
  }
  return out;
}
