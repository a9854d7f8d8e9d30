import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileExpr } from '../../src/rules/compiler/compile.js';
import { compareText, PathPrefixSet } from '../../src/rules/compiler/compare.js';
import { globMatch, globToRegExp } from '../../src/rules/compiler/glob.js';
import { event, load, matches, ruleFor } from './helpers.js';

describe('operator semantics', () => {
  it('= is exact on text and numeric on numbers, whichever way the value arrived', () => {
    expect(matches('proc.name = bash', { 'proc.name': 'bash' })).toBe(true);
    expect(matches('proc.name = bash', { 'proc.name': 'Bash' })).toBe(false);
    expect(matches('proc.name = bash', { 'proc.name': 'bash ' })).toBe(false);
    expect(matches('proc.pid = 123', { 'proc.pid': 123 })).toBe(true);
    expect(matches('proc.pid = 123', { 'proc.pid': '123' })).toBe(true);
    expect(matches('proc.pid == 123', { 'proc.pid': '0123' })).toBe(true);
    expect(matches('proc.pid = 12', { 'proc.pid': 123 })).toBe(false);
    expect(matches('proc.name = 123', { 'proc.name': 'abc' })).toBe(false);
  });

  it('orders numbers, text numbers and bigints exactly', () => {
    expect(matches('proc.pid > 100', { 'proc.pid': '123' })).toBe(true);
    expect(matches('proc.pid > 100', { 'proc.pid': 99 })).toBe(false);
    expect(matches('proc.pid >= 100', { 'proc.pid': 100 })).toBe(true);
    expect(matches('proc.pid < 100', { 'proc.pid': -5 })).toBe(true);
    expect(matches('thread.cpu <= 1.5', { 'thread.cpu': 1.5 })).toBe(true);
    expect(matches('proc.pid > 100', { 'proc.pid': 'abc' })).toBe(false);
    expect(matches('proc.pid > 100', { 'proc.pid': '' })).toBe(false);
    expect(matches('proc.pid > 100', { 'proc.pid': true })).toBe(false);
    // 2^63 - 1 and its neighbour differ only beyond double precision
    expect(matches('evt.time > 9223372036854775806', { 'evt.time': 9223372036854775807n })).toBe(true);
    expect(matches('evt.time > 9223372036854775807', { 'evt.time': 9223372036854775807n })).toBe(false);
    expect(matches('evt.time = 9223372036854775807', { 'evt.time': '9223372036854775807' })).toBe(true);
    expect(matches('evt.time = 9223372036854775806', { 'evt.time': '9223372036854775807' })).toBe(false);
    expect(matches('evt.time > 100', { 'evt.time': 1470327477881730713n })).toBe(true);
    expect(matches('user.uid < 4294967296', { 'user.uid': 4294967295 })).toBe(true);
  });

  it("compares by the field's Falco type: text fields as text, whatever the literal looks like", () => {
    const tag = 'evt.type = execve and container.image.tag = "1.20"';
    expect(matches(tag, { 'evt.type': 'execve', 'container.image.tag': '1.20' })).toBe(true);
    expect(matches(tag, { 'evt.type': 'execve', 'container.image.tag': '1.2' })).toBe(false);
    expect(matches(tag, { 'evt.type': 'execve', 'container.image.tag': '1.200' })).toBe(false);
    expect(matches('container.image.tag = 1.20', { 'container.image.tag': '1.2' })).toBe(false);
    expect(matches('container.image.tag != "1.20"', { 'container.image.tag': '1.2' })).toBe(true);
    expect(matches('container.image.tag != "1.20"', { 'container.image.tag': '1.20' })).toBe(false);
    expect(matches('proc.name = 123', { 'proc.name': '0123' })).toBe(false);
    expect(matches('proc.name = 0x10', { 'proc.name': '16' })).toBe(false);
    expect(matches('proc.name == 16', { 'proc.name': '16' })).toBe(true);
    const bond = 'proc.name in ("007", bond)';
    expect(matches(bond, { 'proc.name': '7' })).toBe(false);
    expect(matches(bond, { 'proc.name': '7.0' })).toBe(false);
    expect(matches(bond, { 'proc.name': '007' })).toBe(true);
    expect(matches(bond, { 'proc.name': 'bond' })).toBe(true);
    expect(matches('proc.name intersects ("007", bond)', { 'proc.name': '7' })).toBe(false);
    expect(matches('proc.name intersects ("007", bond)', { 'proc.name': '007' })).toBe(true);
    expect(matches('proc.aname[2] in (1, 2)', { 'proc.aname[2]': '01' })).toBe(false);
    expect(matches('tolower(proc.name) = "1.0"', { 'proc.name': '1' })).toBe(false);
    // a list-valued text field: text membership item by item
    expect(matches('fd.types intersects ("1.0")', { 'fd.types': ['1', '2'] })).toBe(false);
    // strcmp order: "10" sorts before "9"
    expect(matches('container.image.tag > 9', { 'container.image.tag': '10' })).toBe(false);
    expect(matches('container.image.tag < 9', { 'container.image.tag': '10' })).toBe(true);
    expect(matches('container.image.tag >= 1.20', { 'container.image.tag': '1.3' })).toBe(true);
    expect(matches('container.image.tag <= 1.20', { 'container.image.tag': '1.20' })).toBe(true);
    // in UTF-8 byte order, as strcmp: U+1F600 sorts after U+FFFD (UTF-16 units would say before)
    expect(compareText('\u{1F600}', '\uFFFD')).toBe(1);
    expect(compareText('\uFFFD', '\u{1F600}')).toBe(-1);
    expect(compareText('a\u{1F600}', 'a\u{1F601}')).toBe(-1);
    expect(compareText('ab', 'a')).toBe(1);
    expect(compareText('a', 'a')).toBe(0);
  });

  it('compares numeric fields as numbers, also when the transport delivered them as text', () => {
    expect(matches('user.uid = 1000', { 'user.uid': '1000' })).toBe(true);
    expect(matches('user.uid = 1000', { 'user.uid': '01000' })).toBe(true);
    expect(matches('user.uid = "1000"', { 'user.uid': 1000 })).toBe(true);
    expect(matches('user.uid != 1000', { 'user.uid': '1000' })).toBe(false);
    expect(matches('user.uid in (0, 1000)', { 'user.uid': '1000' })).toBe(true);
    expect(matches('user.uid intersects (0, 1000)', { 'user.uid': '1000.0' })).toBe(true);
    expect(matches('fd.sport in ("80", 443)', { 'fd.sport': 80 })).toBe(true);
    expect(matches('evt.arg.uid = 1000', { 'evt.arg.uid': '1000' })).toBe(true);
    expect(matches('proc.pid > 9', { 'proc.pid': '10' })).toBe(true);
    expect(matches('proc.pid < 9', { 'proc.pid': '10' })).toBe(false);
    expect(matches('fd.sport < 1024', { 'fd.sport': '443' })).toBe(true);
    expect(matches('fd.sport >= 1024', { 'fd.sport': '443' })).toBe(false);
    expect(matches('user.uid >= 1000', { 'user.uid': '999' })).toBe(false);
    expect(matches('user.uid <= 1000', { 'user.uid': '1000' })).toBe(true);
    expect(matches('len(proc.name) > 9', { 'proc.name': 'kube-apiserver' })).toBe(true);
    // in agrees with = beyond 2^53, where neighbouring integers share a double
    const max = 'evt.rawtime in (1, 9223372036854775807)';
    expect(matches(max, { 'evt.rawtime': '9223372036854775807' })).toBe(true);
    expect(matches(max, { 'evt.rawtime': '09223372036854775807' })).toBe(true);
    expect(matches(max, { 'evt.rawtime': '9223372036854775806' })).toBe(false);
    expect(matches(max, { 'evt.rawtime': 9223372036854775806n })).toBe(false);
    expect(matches(max, { 'evt.rawtime': 2 ** 63 })).toBe(false);
    expect(matches('evt.rawtime = 9223372036854775807', { 'evt.rawtime': 2 ** 63 })).toBe(false);
    expect(matches('evt.rawtime in (9223372036854775808)', { 'evt.rawtime': 2 ** 63 })).toBe(true);
    expect(matches('evt.arg.size in (1e20)', { 'evt.arg.size': 1e20 })).toBe(true);
    expect(matches('evt.arg.size in (1e20)', { 'evt.arg.size': '100000000000000000000' })).toBe(true);
  });

  it('compares fields of no known type as before: numbers as numbers, whichever side is text', () => {
    expect(matches('json.value = "1.20"', { 'json.value': '1.2' })).toBe(true);
    expect(matches('ka.target.name in ("007")', { 'ka.target.name': '7' })).toBe(true);
    expect(matches('evt.rawarg.res > 9', { 'evt.rawarg.res': '10' })).toBe(true);
  });

  it('matches booleans with true/false', () => {
    expect(matches('container.privileged = true', { 'container.privileged': true })).toBe(true);
    expect(matches('container.privileged = true', { 'container.privileged': false })).toBe(false);
    expect(matches('container.privileged = false', { 'container.privileged': 'false' })).toBe(true);
    expect(matches('container.privileged != true', { 'container.privileged': false })).toBe(true);
  });

  it('is false for a missing or null field whatever the operator, != included; not makes it true', () => {
    for (const cond of ['fd.name = /etc', 'fd.name != /etc', 'fd.name contains etc', 'fd.name in (/etc)', 'fd.num > 1', 'fd.name glob "*"', 'fd.name pmatch (/)', 'fd.name exists', 'fd.name = val(proc.name)']) {
      expect(matches(cond, {}), cond).toBe(false);
      expect(matches(cond, { 'fd.name': null, 'fd.num': null, 'proc.name': 'x' }), cond).toBe(false);
      expect(matches(`not ${cond}`, {}), cond).toBe(true);
    }
    expect(matches('fd.name exists', { 'fd.name': '' })).toBe(true);
  });

  it('string operators', () => {
    const f = { 'proc.cmdline': 'Java -jar /opt/App.jar' };
    expect(matches('proc.cmdline contains "-jar"', f)).toBe(true);
    expect(matches('proc.cmdline contains app', f)).toBe(false);
    expect(matches('proc.cmdline icontains app.JAR', f)).toBe(true);
    expect(matches('proc.cmdline icontains "a.b"', { 'proc.cmdline': 'axb' })).toBe(false);
    expect(matches('proc.cmdline startswith Java', f)).toBe(true);
    expect(matches('proc.cmdline endswith .jar', f)).toBe(true);
    expect(matches('evt.buffer bcontains 2d6a6172', { 'evt.buffer': f['proc.cmdline'] })).toBe(true);
    expect(matches('evt.buffer bstartswith 4a617661', { 'evt.buffer': f['proc.cmdline'] })).toBe(true);
    expect(matches('proc.cmdline regex "Java .*jar"', f)).toBe(true);
    expect(matches('proc.cmdline regex "jar"', f)).toBe(false);
    // on a field of no known type, a number is its text (Falco refuses them on numeric fields)
    expect(matches('evt.arg.pid contains 23', { 'evt.arg.pid': 1234 })).toBe(true);
  });

  it('glob is fnmatch without FNM_PATHNAME', () => {
    expect(matches("fd.name glob '/home/*/.ssh/*'", { 'fd.name': '/home/a/.ssh/id_rsa' })).toBe(true);
    expect(matches("fd.name glob '/home/*/.ssh/*'", { 'fd.name': '/home/a/b/.ssh/c' })).toBe(true);
    expect(matches('fd.name glob /proc/*/environ', { 'fd.name': '/proc/12/environ' })).toBe(true);
    expect(matches('fd.name glob /proc/*/environ', { 'fd.name': '/proc/12/cmdline' })).toBe(false);
    expect(matches('fd.name glob "/tmp/[a-c]?.sh"', { 'fd.name': '/tmp/bx.sh' })).toBe(true);
    expect(matches('fd.name glob "/tmp/[!a-c]?.sh"', { 'fd.name': '/tmp/bx.sh' })).toBe(false);
    expect(matches('fd.name iglob "/TMP/*"', { 'fd.name': '/tmp/x' })).toBe(true);
  });

  it('in is a set lookup that also matches numbers as numbers', () => {
    expect(matches('proc.name in (sh, bash, "my shell")', { 'proc.name': 'my shell' })).toBe(true);
    expect(matches('proc.name in (sh, bash)', { 'proc.name': 'zsh' })).toBe(false);
    expect(matches('fd.sport in (80, 443)', { 'fd.sport': 443 })).toBe(true);
    expect(matches('fd.sport in (80, 443)', { 'fd.sport': '80' })).toBe(true);
    expect(matches('fd.sport in (80, 443)', { 'fd.sport': 8080 })).toBe(false);
    expect(matches('proc.name in ()', { 'proc.name': 'sh' })).toBe(false);
    expect(matches('proc.name intersects (sh, bash)', { 'proc.name': 'sh' })).toBe(true);
  });

  it('list-valued fields: in needs every element, intersects any, other operators some element', () => {
    const f = { 'ka.req.pod.containers.image': ['nginx', 'busybox'] };
    expect(matches('ka.req.pod.containers.image in (nginx, busybox, redis)', f)).toBe(true);
    expect(matches('ka.req.pod.containers.image in (nginx, redis)', f)).toBe(false);
    expect(matches('ka.req.pod.containers.image intersects (nginx, redis)', f)).toBe(true);
    expect(matches('ka.req.pod.containers.image intersects (redis)', f)).toBe(false);
    expect(matches('ka.req.pod.containers.image startswith busy', f)).toBe(true);
    expect(matches('ka.req.pod.containers.image = nginx', f)).toBe(true);
    expect(matches('ka.req.pod.containers.image != nginx', f)).toBe(false);
    expect(matches('ka.req.pod.containers.image exists', { 'ka.req.pod.containers.image': [] })).toBe(false);
    expect(matches('ka.req.pod.containers.image in (nginx)', { 'ka.req.pod.containers.image': [] })).toBe(false);
  });

  it('pmatch matches whole path components', () => {
    const cond = 'fd.name pmatch (/etc/apt, /usr/lib/)';
    expect(matches(cond, { 'fd.name': '/etc/apt' })).toBe(true);
    expect(matches(cond, { 'fd.name': '/etc/apt/sources.list' })).toBe(true);
    expect(matches(cond, { 'fd.name': '/etc/aptitude' })).toBe(false);
    expect(matches(cond, { 'fd.name': '/usr/lib/x' })).toBe(true);
    expect(matches(cond, { 'fd.name': '/usr/libexec' })).toBe(false);
    // as libsinsp's path_prefix_search splits paths: empty components do not count
    expect(matches('fd.name pmatch (/tmp)', { 'fd.name': '//tmp//x' })).toBe(true);
    expect(matches('fd.name pmatch (/tmp)', { 'fd.name': 'tmp/x' })).toBe(true);
    expect(matches('fd.name pmatch (/tmp//)', { 'fd.name': '/tmp/x' })).toBe(true);
    expect(matches('fd.name pmatch (/a//b)', { 'fd.name': '/a/b/c' })).toBe(true);
    expect(matches('fd.name pmatch (/)', { 'fd.name': 'relative' })).toBe(true);
    expect(matches('fd.name pmatch (/var/log)', { 'fd.name': '/var' })).toBe(false);
    // a component with a glob character is a glob for that component only
    expect(matches('fd.name pmatch (/srv/app-[0-9]/data)', { 'fd.name': '/srv/app-3/data/x' })).toBe(true);
    expect(matches('fd.name pmatch (/srv/app-[0-9]/data)', { 'fd.name': '/srv/app-x/data' })).toBe(false);
    expect(matches('fd.name pmatch ("/home/*")', { 'fd.name': '/home/ann/.ssh/id_rsa' })).toBe(true);
    expect(matches('fd.name pmatch ("/home/*/.ssh")', { 'fd.name': '/home/ann/x/.ssh' })).toBe(false);
  });

  it('expands list names inside list literals, nested lists too', () => {
    const lists = '- list: shells\n  items: [sh, bash]\n- list: more\n  items: [shells, ksh, \'"a b"\']\n';
    expect(matches('proc.name in (more, zsh)', { 'proc.name': 'bash' }, lists)).toBe(true);
    expect(matches('proc.name in (more, zsh)', { 'proc.name': 'zsh' }, lists)).toBe(true);
    expect(matches('proc.name in (more, zsh)', { 'proc.name': 'a b' }, lists)).toBe(true);
    expect(matches('proc.name in (more, zsh)', { 'proc.name': 'more' }, lists)).toBe(false);
    expect(matches('proc.name in ("shells")', { 'proc.name': 'shells' }, lists)).toBe(true);
    expect(matches('proc.name in shells', { 'proc.name': 'sh' }, lists)).toBe(true);
  });

  it('inlines macros, nested', () => {
    const macros = '- macro: a\n  condition: proc.name = sh\n- macro: b\n  condition: a and not c\n- macro: c\n  condition: proc.pname = sshd\n';
    expect(matches('b', { 'proc.name': 'sh', 'proc.pname': 'bash' }, macros)).toBe(true);
    expect(matches('b', { 'proc.name': 'sh', 'proc.pname': 'sshd' }, macros)).toBe(false);
  });

  it('transformers and val()', () => {
    expect(matches('tolower(proc.name) = bash', { 'proc.name': 'BaSh' })).toBe(true);
    expect(matches('toupper(proc.name) = BASH', { 'proc.name': 'bash' })).toBe(true);
    expect(matches('basename(proc.exepath) = ls', { 'proc.exepath': '/usr/bin/ls' })).toBe(true);
    expect(matches('len(proc.name) > 3', { 'proc.name': 'bash' })).toBe(true);
    expect(matches('len(proc.name) > 4', { 'proc.name': 'bash' })).toBe(false);
    expect(matches('b64(proc.cmdline) = hello', { 'proc.cmdline': 'aGVsbG8=' })).toBe(true);
    expect(matches('proc.name = val(proc.pname)', { 'proc.name': 'sh', 'proc.pname': 'sh' })).toBe(true);
    expect(matches('proc.name != val(proc.pname)', { 'proc.name': 'sh', 'proc.pname': 'bash' })).toBe(true);
    expect(matches('proc.pid > val(proc.ppid)', { 'proc.pid': '10', 'proc.ppid': 9 })).toBe(true);
    expect(matches('proc.exepath endswith val(proc.name)', { 'proc.exepath': '/bin/sh', 'proc.name': 'sh' })).toBe(true);
    expect(matches('proc.name = tolower(proc.pname)', { 'proc.name': 'sh', 'proc.pname': 'SH' })).toBe(true);
    expect(matches('fd.name glob val(proc.name)', { 'fd.name': '/tmp/x', 'proc.name': '/tmp/*' })).toBe(true);
  });

  it('folds case in ASCII only and counts length in bytes, as libsinsp works on bytes', () => {
    expect(matches('proc.name icontains "É"', { 'proc.name': 'café' })).toBe(false);
    expect(matches('proc.name icontains "CAF"', { 'proc.name': 'café' })).toBe(true);
    expect(matches('proc.name icontains val(proc.pname)', { 'proc.name': 'CAFÉ', 'proc.pname': 'café' })).toBe(false);
    expect(matches('tolower(proc.name) = "cafÉ"', { 'proc.name': 'CAFÉ' })).toBe(true);
    expect(matches('toupper(proc.name) = "CAFé"', { 'proc.name': 'café' })).toBe(true);
    expect(matches('len(proc.name) = 5', { 'proc.name': 'café' })).toBe(true);
    expect(matches('proc.name iglob "*É"', { 'proc.name': 'café' })).toBe(false);
    expect(matches('proc.name iglob "C*[A-F]"', { 'proc.name': 'cafe' })).toBe(true);
  });

  it('reads regex as RE2 in POSIX mode does: bracket classes work, Perl syntax is refused', () => {
    expect(matches('proc.name regex "[[:digit:]]+"', { 'proc.name': '123' })).toBe(true);
    expect(matches('proc.name regex "[[:digit:]]+"', { 'proc.name': ':]]]' })).toBe(false);
    expect(matches('proc.name regex "[[:alpha:]_][[:alnum:]_]*"', { 'proc.name': 'x_1' })).toBe(true);
    expect(matches('proc.name regex "[]a]+"', { 'proc.name': ']a]' })).toBe(true);
    expect(matches('proc.name regex "[^[:space:]]+"', { 'proc.name': 'a b' })).toBe(false);
    const lint = (pattern: string) =>
      load(`- rule: r\n  desc: d\n  condition: evt.type = execve and proc.name regex "${pattern}"\n  output: o\n  priority: INFO\n`).problems.filter((p) => p.severity === 'error').map((p) => p.message);
    for (const perl of ['\\\\d+', '\\\\w', 'a\\\\b', '(?:a|b)', '(?i)sh', 'a(?=b)', 'a*?', '(a)\\\\1', '[[:digits:]]']) {
      expect(lint(perl), perl).toEqual([expect.stringContaining('invalid regular expression')]);
    }
    expect(lint('(ba|z)?sh[0-9]{1,2}\\\\.bin')).toEqual([]);
  });

  it('reads service names on port fields as their ports, as getservbyname does in Falco', () => {
    expect(matches('fd.sport = https', { 'fd.sport': 443 })).toBe(true);
    expect(matches('fd.sport in (http, 8443)', { 'fd.sport': 80 })).toBe(true);
    expect(matches('fd.sport in (http, 8443)', { 'fd.sport': 8443 })).toBe(true);
    expect(matches('fd.cport != ssh', { 'fd.cport': '22' })).toBe(false);
    const errors = load('- rule: r\n  desc: d\n  condition: evt.type = connect and fd.sport = htps\n  output: o\n  priority: INFO\n').problems.filter((p) => p.severity === 'error');
    expect(errors).toMatchObject([{ code: 'LANNER_RULE_BAD_VALUE', message: expect.stringContaining("'htps' is neither a port number nor a service name") }]);
  });

  it('a glob fnmatch refuses matches nothing, and lint says so', () => {
    expect(matches('proc.name glob abc\\', { 'proc.name': 'abc\\' })).toBe(false);
    expect(matches('proc.name glob "abc\\\\*"', { 'proc.name': 'abc*' })).toBe(true);
    expect(matches('proc.name glob "[[:foo:]]"', { 'proc.name': 'f' })).toBe(false);
    expect(matches('proc.name glob "[[:digit:]]*"', { 'proc.name': '7z' })).toBe(true);
    expect(matches('proc.name glob val(proc.pname)', { 'proc.name': 'f', 'proc.pname': '[[:foo:]]' })).toBe(false);
    const warned = load('- rule: r\n  desc: d\n  condition: proc.name glob "[[:foo:]]"\n  output: o\n  priority: INFO\n').problems.filter((p) => p.code === 'LANNER_RULE_BAD_VALUE');
    expect(warned).toMatchObject([{ severity: 'warning', line: 3, col: 29, message: expect.stringContaining("'[:foo:]' is not a character class") }]);
  });

  it('compares with val() by the left field\'s type, as with literals', () => {
    // text fields: text against text, even where both sides read as numbers
    expect(matches('proc.name = val(proc.pname)', { 'proc.name': '007', 'proc.pname': '7' })).toBe(false);
    expect(matches('proc.name != val(proc.pname)', { 'proc.name': '007', 'proc.pname': '7' })).toBe(true);
    expect(matches('proc.name < val(proc.pname)', { 'proc.name': '10', 'proc.pname': '9' })).toBe(true);
    expect(matches('proc.name > val(proc.pname)', { 'proc.name': 'b', 'proc.pname': 'a' })).toBe(true);
    expect(matches('container.image.tag = val(proc.pname)', { 'container.image.tag': '1.20', 'proc.pname': '1.2' })).toBe(false);
    expect(matches('proc.name in val(proc.pname)', { 'proc.name': '7', 'proc.pname': '7.0' })).toBe(false);
    // numeric fields: numbers, whatever text the transport delivered
    expect(matches('proc.pid < val(proc.ppid)', { 'proc.pid': '9', 'proc.ppid': '10' })).toBe(true);
    expect(matches('proc.pid = val(proc.ppid)', { 'proc.pid': '10', 'proc.ppid': 10 })).toBe(true);
  });

  it('derives Falco fields the feed does not forward', () => {
    const open = { 'evt.type': 'openat', 'evt.arg.flags': 'O_WRONLY|O_CREAT', 'fd.type': 'file', 'fd.num': 3 };
    expect(matches("evt.is_open_write=true and fd.typechar='f'", open)).toBe(true);
    expect(matches('evt.is_open_read=true', open)).toBe(false);
    expect(matches('evt.is_open_read=true', { 'evt.arg.flags': 'O_RDWR' })).toBe(true);
    expect(matches('evt.is_open_write=true', { 'evt.arg.flags': 'O_RDWRX' })).toBe(false);
    expect(matches('proc.aname[1] = bash', { 'proc.pname': 'bash' })).toBe(true);
    expect(matches('proc.args contains "-c"', { 'proc.cmdline': 'sh -c id', 'proc.name': 'sh' })).toBe(true);
    expect(matches('evt.failed = true', { 'evt.rawres': -2 })).toBe(true);
    expect(matches('evt.is_open_write exists', {})).toBe(false);
    expect(matches('falco.rule = "Terminal shell in container" and falco.priority = Critical', {}, '')).toBe(false);
    const r = ruleFor('falco.rule = X and evt.hostname = node-b and falco.tags intersects (shell)');
    expect(r.matches(event({}, { rule: 'X', hostname: 'node-b', tags: ['container', 'shell'] }))).toBe(true);
    expect(r.matches(event({ 'evt.hostname': 'node-c' }, { rule: 'X', hostname: 'node-b', tags: ['shell'] }))).toBe(false);
  });

  it('folds Falco\'s never_true idiom away', () => {
    const extra = '- macro: never_true\n  condition: (evt.num=0)\n- macro: user_known\n  condition: (never_true)\n';
    const r = ruleFor('proc.name = sh and not user_known', extra);
    expect(r.resolvedCondition).toBe('proc.name = sh');
    expect([...r.fields]).toEqual(['proc.name']);
  });

  it('never throws per event, whatever the values, and answers as the closure tree that states the semantics', () => {
    const r = ruleFor('(proc.name in (a, b) or proc.pid > 5 or fd.name glob "/x*" or proc.cmdline icontains x or tolower(proc.name) = a or len(fd.name) > 2) and not proc.pname = val(proc.name)');
    const reference = compileExpr(r.expr);
    const value = fc.oneof(fc.string(), fc.integer(), fc.bigInt(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.double());
    let matched = 0;
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('proc.name', 'proc.pid', 'fd.name', 'proc.cmdline', 'proc.pname'), value), (fields) => {
        const ev = event(fields);
        const answer = r.matches(ev);
        expect(answer).toBe(reference(ev));
        if (answer) matched++;
      }),
    );
    // Both answers came up: the property did not only ever see events that miss.
    expect(matched).toBeGreaterThan(0);
  });
});

describe('pmatch', () => {
  it('agrees with comparing the split, non-empty components of both paths (property)', () => {
    const path = fc.stringMatching(/^[ab/*]{0,10}$/);
    const parts = (p: string) => p.split('/').filter((c) => c !== '');
    const reference = (prefix: string, value: string): boolean => {
      const want = parts(prefix);
      const have = parts(value);
      return want.length <= have.length && want.every((c, i) => (/[?*[]/.test(c) ? globToRegExp(c).test(have[i]!) : c === have[i]));
    };
    fc.assert(
      fc.property(fc.array(path, { maxLength: 3 }), path, (prefixes, value) => {
        expect(new PathPrefixSet(prefixes).matches(value)).toBe(prefixes.some((p) => reference(p, value)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('glob', () => {
  it('the per-event matcher agrees with the compiled RegExp (property)', () => {
    const pattern = fc.stringMatching(/^[ab/*?\\[\]!^-]{0,8}$/);
    const text = fc.stringMatching(/^[ab/[\]\\-]{0,8}$/);
    fc.assert(
      fc.property(pattern, text, (p, t) => {
        expect(globMatch(p, t)).toBe(globToRegExp(p).test(t));
      }),
      { numRuns: 2000 },
    );
  });
});
