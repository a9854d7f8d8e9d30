/** `lanner rules lint|test`: check rule files, and run rule tests, as CI would. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LannerError } from '../core/errors.js';
import { DEFAULT_BOUNDS } from '../detect/rule-engine.js';
import { loadDetectionRules } from '../rules/compiler/stateful.js';
import { runRuleTestFile, type CaseResult } from './rules-test.js';
import { formatProblem, type Problem } from '../rules/problems.js';
import { runRulesLint } from './rules-lint.js';
import { parseFlags } from './args.js';

export const RULES_HELP = `Usage: lanner rules lint [--json] PATH...
       lanner rules test [--rules PATH]... [--verbose] PATH...

lint   loads rule files and directories as 'lanner run' would and lists every problem as
       file:line:col: severity: message; exit 1 if any is an error. --json for CI.
test   runs rule test files (*.test.yaml, or every one under a directory): each case's events
       must raise exactly the alerts it expects. Prints each failure and 'N passed, N failed';
       exit 1 on any failure. --rules gives the rules for test files that name none.
`;

export async function runRules(argv: readonly string[]): Promise<number> {
  const [action, ...rest] = argv;
  switch (action) {
    case 'lint':
      return runRulesLint(rest, undefined, (paths) => {
        // The full check: Falco syntax and Lanner's stateful keys (durations, steps, bounds).
        const r = loadDetectionRules(paths, DEFAULT_BOUNDS);
        const order = new Map(r.load.files.map((f, i) => [f, i]));
        return { ...r.load, problems: [...r.problems].sort((a, b) => byPlace(order, a, b)) };
      });
    case 'test':
      return runRulesTest(rest);
    case '-h':
    case '--help':
    case undefined:
      process.stdout.write(RULES_HELP);
      return action === undefined ? 2 : 0;
    default:
      throw new LannerError('LANNER_USAGE', `rules: expected lint or test, got ${JSON.stringify(action)} (see 'lanner rules --help')`);
  }
}

async function runRulesTest(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    'rules test',
    argv,
    { rules: { type: 'string', multiple: true }, verbose: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (values.help) {
    process.stdout.write(RULES_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new LannerError('LANNER_USAGE', "rules test: name test files or directories (see 'lanner rules --help')");
  const files = positionals.flatMap(testFilesIn);
  if (files.length === 0) throw new LannerError('LANNER_USAGE', `rules test: no *.test.yaml files in ${positionals.join(', ')}`);
  const load = (paths: readonly string[]) => {
    const r = loadDetectionRules(paths, DEFAULT_BOUNDS);
    return { rules: r.rules, errors: r.problems.filter((p) => p.severity === 'error').map(formatProblem) };
  };
  const results: CaseResult[] = files.flatMap((f) => runRuleTestFile(f, load, values.rules ?? []));
  for (const r of results) {
    if (!r.passed) process.stdout.write(`FAIL ${r.file}: ${r.name}\n${r.failures.map((f) => `     ${f}`).join('\n')}\n`);
    else if (values.verbose) process.stdout.write(`ok   ${r.file}: ${r.name}\n`);
  }
  const failed = results.filter((r) => !r.passed).length;
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

/** In load order of the files, then by line and column: stateful-key problems among the rest. */
function byPlace(order: ReadonlyMap<string, number>, a: Problem, b: Problem): number {
  return (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1) || a.line - b.line || a.col - b.col;
}

function testFilesIn(path: string): string[] {
  if (!existsSync(path)) throw new LannerError('LANNER_USAGE', `rules test: ${path}: no such file or directory`);
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.test\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
}
