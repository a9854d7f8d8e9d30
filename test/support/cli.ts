/** Runs the built `lanner` binary as a user would, capturing its output. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './shared.js';
import { PATIENCE_MS } from './wait.js';

export const LANNER_BIN = join(REPO_ROOT, 'bin', 'lanner.js');

export function assertBuilt(): void {
  if (!existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function lanner(args: readonly string[], options: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LANNER_BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...cleanEnv(), ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** Starts `lanner` and leaves it running; the caller stops it. */
export function startLanner(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [LANNER_BIN, ...args], { cwd: REPO_ROOT, env: { ...cleanEnv(), ...env } });
}

/** The parent's environment without LANNER_* variables, which would change the config under test. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LANNER_')));
}

/** Resolves with the first JSON log line on `stream` that satisfies `match`. */
export function waitForLog(
  child: ChildProcessWithoutNullStreams,
  match: (entry: Record<string, unknown>) => boolean,
  timeoutMs = PATIENCE_MS,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      child.stderr.off('data', onData);
      reject(new Error(`no matching log line within ${timeoutMs} ms; stderr so far:\n${buffer}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      buffer += d.toString();
      for (const line of buffer.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (match(entry)) {
            clearTimeout(timer);
            child.stderr.off('data', onData);
            resolve(entry);
            return;
          }
        } catch {
          // a partial line: wait for the rest
        }
      }
    };
    child.stderr.on('data', onData);
  });
}
