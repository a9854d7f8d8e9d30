/**
 * Odd files for the hostile-file tests: things a path can name that are not a regular file,
 * an unreadable file, and files around a size limit; and the real CLI run with a deadline, so a
 * hang fails the test at once and leaves no process behind.
 */
import { tempDirs } from '../support/temp-dirs.js';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { LANNER_BIN } from '../support/cli.js';
import { REPO_ROOT } from '../support/shared.js';

/** Root reads any file whatever its mode, so an unreadable file cannot be made for it. */
export const RUNNING_AS_ROOT = process.getuid?.() === 0;

/** A path naming something that is not a regular file, and how the refusal names it. */
export interface OddEntry {
  readonly name: string;
  /** A file name for it. */
  readonly slug: string;
  /** Creates the entry at `path`. */
  readonly make: (path: string) => void;
  /** What the message says the entry is. */
  readonly kind: RegExp;
}

/** A FIFO: opened for reading without O_NONBLOCK, it waits for a writer that never comes. */
export function makeFifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${r.stderr.toString()}`);
}

/** A Unix socket left in the file system: bound by a process killed before it could remove it. */
export function makeSocket(path: string): void {
  const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script]);
}

export const ODD_ENTRIES: readonly OddEntry[] = [
  { name: 'a FIFO', slug: 'fifo', make: makeFifo, kind: /FIFO/ },
  { name: 'a symlink to /dev/zero', slug: 'dev-zero', make: (path) => symlinkSync('/dev/zero', path), kind: /character device/ },
  { name: 'a socket', slug: 'socket', make: makeSocket, kind: /socket/ },
  { name: 'a directory named like a file', slug: 'directory', make: (path) => mkdirSync(path), kind: /directory/ },
];

/** An unreadable file (mode 000): only meaningful when not running as root. */
export function makeUnreadable(path: string, text = '- list: l\n  items: [a]\n'): void {
  writeFileSync(path, text);
  chmodSync(path, 0o000);
}

/**
 * A rules text of exactly `bytes` bytes that loads as one valid rule: the rule, then a comment
 * filling the rest (a comment costs the parser almost nothing, so the size is what is tested).
 */
export function rulesTextOfSize(bytes: number): string {
  const head = '- rule: Sized\n  desc: a rule file of a chosen size\n  condition: evt.type = execve\n  output: sized\n  priority: WARNING\n#';
  const text = head + 'x'.repeat(bytes - head.length - 1) + '\n';
  if (Buffer.byteLength(text) !== bytes) throw new Error(`rulesTextOfSize(${bytes}) made ${Buffer.byteLength(text)} bytes`);
  return text;
}

/** Removed after the importing test file's tests, by the shared helper. */
const madeDirs = tempDirs();

export function tempDir(prefix = 'lanner-file-'): string {
  return madeDirs(prefix.replace(/^lanner-/, '').replace(/-$/, ''));
}

export interface TimedRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** True when the deadline passed and the process was killed. */
  readonly killed: boolean;
}

/** The user `nobody`, as whom root runs what must meet a file it cannot read. */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

/**
 * Runs the built `lanner` with these arguments; kills it, and says so, past `deadlineMs`.
 * With `as`, runs as that user (the caller must be root).
 */
export function lannerWithin(args: readonly string[], deadlineMs = 15_000, as?: { uid: number; gid: number }): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LANNER_')));
    const child = spawn(process.execPath, [LANNER_BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], ...as });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started, killed });
    });
  });
}
