/**
 * `lanner rules lint PATH...`: loads rule files and directories as `lanner run` would and lists
 * every problem as `file:line:col: severity: message`, then a summary. Exit status 1 when any
 * problem is an error, 2 for a usage mistake, 0 otherwise. `--json` prints one JSON document
 * for CI: `{"rules":N,"lists":N,"macros":N,"problems":[...]}`.
 */
import { loadRules, type LoadResult } from '../rules/load/loader.js';
import { formatProblem } from '../rules/problems.js';

export interface LintIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const DEFAULT_IO: LintIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

const USAGE = 'usage: lanner rules lint [--json] PATH...';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** What lint reports on; the CLI passes a loader that also checks Lanner's stateful keys. */
export type LintLoader = (paths: readonly string[]) => Promise<Pick<LoadResult, 'problems' | 'counts' | 'files'>> | Pick<LoadResult, 'problems' | 'counts' | 'files'>;

/** Runs the command; returns the exit status. */
export async function runRulesLint(argv: readonly string[], io: LintIo = DEFAULT_IO, load: LintLoader = loadRules): Promise<number> {
  let json = false;
  const paths: string[] = [];
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '-h' || arg === '--help') {
      io.out(USAGE);
      return 0;
    } else if (arg.startsWith('-') && arg !== '-') {
      io.err(`lanner rules lint: unknown option ${arg}\n${USAGE}`);
      return 2;
    } else paths.push(arg);
  }
  if (paths.length === 0) {
    io.err(`lanner rules lint: no rule files given\n${USAGE}`);
    return 2;
  }
  const result = await load(paths);
  const errors = result.problems.filter((p) => p.severity === 'error').length;
  const warnings = result.problems.filter((p) => p.severity === 'warning').length;
  if (json) {
    io.out(
      JSON.stringify({
        rules: result.counts.rules,
        lists: result.counts.lists,
        macros: result.counts.macros,
        problems: result.problems.map((p) => ({ file: p.file, line: p.line, col: p.col, severity: p.severity, code: p.code, message: p.message })),
      }),
    );
  } else {
    for (const p of result.problems) io.out(formatProblem(p));
    io.out(
      `${plural(result.files.length, 'file')}: ${plural(result.counts.rules, 'rule')}, ${plural(result.counts.macros, 'macro')}, ` +
        `${plural(result.counts.lists, 'list')}; ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`,
    );
  }
  return errors > 0 ? 1 : 0;
}
