/**
 * `lanner check`: the configuration and its rules together, offline, as `lanner run` would load
 * them, before a rollout. Says what would run (sources, outputs, responders, dry run or live),
 * checks that every action a rule names can be carried out, and prints the RBAC rules the enabled
 * responders need, and ends with one line: ready, or NOT ready and why. Exit 0 when ready, 1
 * when not (rule errors, no event source, actions that cannot run), 2 for a configuration error.
 */
import { stringify } from 'yaml';
import { requiredPermissions, findResponder, RESPONDERS } from '../actions/registry.js';
import { loadConfig } from '../config/config.js';
import { DEFAULT_BOUNDS } from '../detect/rule-engine.js';
import { loadDetectionRules } from '../rules/compiler/stateful.js';
import { formatProblem } from '../rules/problems.js';
import { parseFlags } from './args.js';
import { configFileFrom } from './config-file.js';

export const CHECK_HELP = `Usage: lanner check [--config FILE] [--rbac]

Loads lanner.yaml (or --config) and the rules it names exactly as 'lanner run' would, without
starting anything, and reports: every configuration problem, every rule problem as
file:line:col, the sources, outputs and responders that would run, whether actions are in dry
run, and any rule action that names a responder that is off or a name that is not known.
--rbac prints the ClusterRole rules the enabled responders need, as YAML.
The last line says 'ready', or 'NOT ready' and why.
Exit status: 0 ready; 1 not ready: rule errors, no event source, or actions that cannot run;
2 invalid configuration.
`;

export async function runCheck(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags('check', argv, { config: { type: 'string' }, rbac: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(CHECK_HELP);
    return 0;
  }
  const file = configFileFrom(values.config);
  const config = loadConfig({ file });
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const rbac = requiredPermissions(config.actions);
  if (values.rbac) {
    say(stringify({ rules: rbac.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })) }, { flow: false }).trimEnd());
    return 0;
  }
  say(`config: ${file ?? '(defaults)'}: valid`);
  /** Why `lanner run` would not do its work with this configuration. */
  const notReady: string[] = [];
  const sources = config.sources.map((s) => s.label);
  say(`sources: ${sources.length > 0 ? sources.join('; ') : `none: ${NO_SOURCE}`}`);
  if (sources.length === 0) notReady.push('no event source');
  say(`outputs: ${config.outputs.length > 0 ? config.outputs.map((o) => `${o.name} (${o.type})`).join(', ') : 'stdout (native JSON lines)'}`);

  const rules = config.rules.length > 0 ? loadDetectionRules(config.rules, { maxKeys: config.state.maxKeys, ttlMs: config.state.ttlMs }) : loadDetectionRules([], DEFAULT_BOUNDS);
  for (const p of rules.problems) say(formatProblem(p));
  const errors = rules.problems.filter((p) => p.severity === 'error').length;
  if (errors > 0) notReady.push(`${errors} rule error${errors === 1 ? '' : 's'}`);
  say(`rules: ${rules.rules.length} in force from ${config.rules.length > 0 ? config.rules.join(', ') : 'no rule paths'}; ${errors} errors, ${rules.problems.length - errors} warnings`);

  const a = config.actions;
  const enabled = RESPONDERS.filter((d) => d.enabled(a)).map((d) => d.name);
  say(`actions: ${a.dryRun ? 'dry run (decided and audited, nothing sent)' : 'live'}; responders on: ${enabled.join(', ') || 'none'}`);
  const asked = new Map<string, string[]>();
  for (const r of rules.rules) if (r.actions) asked.set(r.name, [...r.actions]);
  for (const [rule, list] of Object.entries(a.rules)) asked.set(rule, [...(asked.get(rule) ?? []), ...list]);
  let unknownActions = 0;
  for (const [rule, list] of asked) {
    for (const name of list.flatMap((n) => a.profiles[n] ?? [n])) {
      const d = findResponder(name);
      if (!d) {
        say(`actions: rule ${JSON.stringify(rule)} names ${JSON.stringify(name)}, which is neither a responder nor a profile`);
        unknownActions++;
      } else if (!d.enabled(a)) {
        say(`actions: rule ${JSON.stringify(rule)} asks for ${name}, which is off (actions.${name}.enabled): it will be refused and audited`);
      }
    }
  }
  if (unknownActions > 0) notReady.push(`${unknownActions} rule action${unknownActions === 1 ? '' : 's'} naming no responder or profile`);
  say(`rbac: the enabled responders need ${rbac.map((r) => `${r.resources.join(',')} ${r.verbs.join('/')}`).join('; ')} (lanner check --rbac prints them as YAML)`);
  say(notReady.length === 0 ? 'ready' : `NOT ready: ${notReady.join('; ')}`);
  return notReady.length > 0 ? 1 : 0;
}

const NO_SOURCE = 'lanner run needs one: set falco.grpc.address (--falco-grpc), ingest.http.listen (--ingest-listen) or ingest.files (--input)';
