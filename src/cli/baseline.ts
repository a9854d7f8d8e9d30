/** `lanner baseline show|reset`: inspect or forget learned baseline profiles in the state file. */
import { isLannerError, LannerError } from '../core/errors.js';
import { loadConfig } from '../config/config.js';
import { readBaselines, withStateLock, writeBaselines } from '../detect/stateful/baseline-store.js';
import type { ProfileSnapshot } from '../detect/stateful/baseline.js';
import { parseFlags } from './args.js';
import { configFileFrom } from './config-file.js';

export const BASELINE_HELP = `Usage: lanner baseline show|reset [flags]

Learned baselines live in the state file (state.file in lanner.yaml, or --state).

  show                 list every profile: rule, workload, values learned, learning since
  reset                forget profiles, so they are learned again from now on; a
                       Lanner running on the file forgets them too at its next save

Flags:
  --state FILE         the state file (default: state.file from the config)
  --config FILE        lanner.yaml to read state.file from
  --rule NAME          only this rule's profiles
  --workload KEY       only this workload (as show prints it)
  --json               show: print the profiles as JSON
  -h, --help           this help
`;

export async function runBaseline(argv: readonly string[]): Promise<number> {
  const [action, ...rest] = argv;
  const { values } = parseFlags('baseline', rest, {
    state: { type: 'string' },
    config: { type: 'string' },
    rule: { type: 'string' },
    workload: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help || action === '--help' || action === '-h') {
    process.stdout.write(BASELINE_HELP);
    return 0;
  }
  if (action !== 'show' && action !== 'reset') {
    throw new LannerError('LANNER_USAGE', `baseline: expected show or reset, got ${JSON.stringify(action ?? '')} (see 'lanner baseline --help')`);
  }
  const file = values.state ?? loadConfig({ file: configFileFrom(values.config) }).state.file;
  if (!file) throw new LannerError('LANNER_USAGE', 'baseline: no state file: set state.file in lanner.yaml or pass --state FILE');
  const profiles = readProfiles(file);
  const selected = (rule: string, p: ProfileSnapshot): boolean =>
    (values.rule === undefined || values.rule === rule) && (values.workload === undefined || values.workload === printable(p.workload));

  if (action === 'show') {
    const rows = [...profiles].flatMap(([rule, list]) => list.filter((p) => selected(rule, p)).map((p) => ({ rule, ...p, workload: printable(p.workload) })));
    if (values.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else for (const r of rows) process.stdout.write(`${r.rule}\t${r.workload}\t${r.values.length} values\tsince ${new Date(r.firstMs).toISOString()}\t${r.values.slice(0, 8).join(', ')}${r.values.length > 8 ? ', ...' : ''}\n`);
    process.stderr.write(`${rows.length} profiles in ${file}\n`);
    return 0;
  }
  const forget = (all: ReadonlyMap<string, readonly ProfileSnapshot[]>): { removed: number; kept: Map<string, ProfileSnapshot[]> } => {
    let removed = 0;
    const kept = new Map<string, ProfileSnapshot[]>();
    for (const [rule, list] of all) {
      const rest = list.filter((p) => !selected(rule, p));
      removed += list.length - rest.length;
      if (rest.length > 0) kept.set(rule, rest);
    }
    return { removed, kept };
  };
  let { removed } = forget(profiles);
  // Nothing to forget must not create a state file where there was none. Under the lock, a
  // running Lanner's save cannot land between this read and this write.
  if (removed > 0) {
    removed = withStateLock(file, () => {
      const now = forget(readProfiles(file));
      writeBaselines(file, now.kept);
      return now.removed;
    });
  }
  process.stderr.write(`removed ${removed} profiles from ${file}${removed > 0 ? '; a Lanner running on it forgets them at its next save' : ''}\n`);
  return 0;
}

/** The profiles in the state file; a file refused by the safe reader keeps its own error code. */
function readProfiles(file: string): ReadonlyMap<string, readonly ProfileSnapshot[]> {
  try {
    return readBaselines(file);
  } catch (err) {
    if (isLannerError(err)) throw err;
    throw new LannerError('LANNER_INPUT_READ', (err as Error).message);
  }
}

/** Workload keys join field values with a unit separator; people read them with a slash. */
function printable(workload: string): string {
  return workload.replaceAll('\u001f', '/');
}
