/**
 * Lanner's own rules in the running service: loaded and compiled at start (a broken rule set
 * refuses to start, naming every problem), reloaded on change or SIGHUP (a broken reload keeps
 * the rules in force), with learned baselines saved to the state file and restored at start.
 */
import { statSync } from 'node:fs';
import { LannerError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { StateBounds } from '../rules/compiler/detection-rule.js';
import { loadDetectionRules, loadDetectionRulesPaced } from '../rules/compiler/stateful.js';
import type { Detector } from '../detect/pipeline.js';
import { ruleDetector, type EngineHolder } from '../detect/rule-detector.js';
import { RuleEngine } from '../detect/rule-engine.js';
import { readBaselines, withStateLock, writeBaselines } from '../detect/stateful/baseline-store.js';
import type { ProfileSnapshot } from '../detect/stateful/baseline.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import type { StageErrorHandler } from '../metrics/stage-errors.js';
import { formatProblem, type Problem } from '../rules/problems.js';
import { RulesReloader } from './rules-reloader.js';

export interface RulesStageOptions {
  readonly paths: readonly string[];
  readonly bounds: StateBounds;
  /** Where baselines are saved; empty: memory only. */
  readonly stateFile: string;
  readonly saveIntervalMs: number;
  readonly logger: Logger;
  readonly metrics: LannerMetrics;
  /** When the event being processed entered Lanner. */
  readonly ingestedAtMs?: () => number;
  /** Told of an event the rules failed on, which is then skipped. */
  readonly onError?: StageErrorHandler;
}

export class RulesStage {
  readonly detector: Detector;
  private readonly holder: EngineHolder;
  private readonly reloader: RulesReloader<RuleEngine>;
  private saveTimer: NodeJS.Timeout | undefined;
  private dormant: ReadonlyMap<string, readonly ProfileSnapshot[]> = new Map();
  /** The state file as this process last read or wrote it: which file, and what was in it. */
  private known: { readonly stamp: string | undefined; readonly workloads: Workloads } | undefined;

  constructor(private readonly options: RulesStageOptions) {
    const { logger, metrics } = options;
    const first = loadDetectionRules(options.paths, options.bounds);
    logWarnings(first.problems, logger);
    const unevaluable = first.problems.filter((p) => p.code === 'LANNER_RULE_UNEVALUABLE');
    if (unevaluable.length > 0) {
      logger.warn(
        { count: unevaluable.length, rules: unevaluable.map((p) => p.message) },
        "rules that read fields Lanner's feed does not forward do not match as written; `lanner rules lint` lists them",
      );
    }
    if (!first.ok) {
      const errors = first.problems.filter((p) => p.severity === 'error').map(formatProblem);
      throw new LannerError('LANNER_RULES_INVALID', `the rules do not load:\n${errors.map((e) => `  ${e}`).join('\n')}`, errors);
    }
    const saved = this.readState();
    const engine = new RuleEngine(first.rules, { metrics, baselines: saved, ...(options.ingestedAtMs ? { ingestedAtMs: options.ingestedAtMs } : {}) });
    this.keepDormant(saved, engine);
    this.holder = { current: engine };
    this.detector = ruleDetector(this.holder, options.onError);
    metrics.rulesLoaded.set(first.rules.length);
    logger.info({ rules: first.rules.length, files: first.load.files.length }, 'rules loaded');
    this.reloader = new RulesReloader<RuleEngine>({
      paths: options.paths,
      logger,
      metrics,
      // Read off the event loop and compiled in slices: a reload never stalls ingestion for long.
      load: async () => {
        const next = await loadDetectionRulesPaced(options.paths, options.bounds);
        if (!next.ok) return { ok: false, problems: next.problems.filter((p) => p.severity === 'error').map(formatProblem) };
        // A file skipped from a rules directory (a FIFO, a device) is a warning: it must be seen.
        logWarnings(next.problems, logger);
        // A baseline rule coming back takes up the profiles it left.
        const deps = { metrics, baselines: this.dormant, ...(options.ingestedAtMs ? { ingestedAtMs: options.ingestedAtMs } : {}) };
        // Rules whose definition did not change keep their windows, counts and profiles.
        return { ok: true, value: new RuleEngine(next.rules, deps, this.holder.current), count: next.rules.length };
      },
      apply: (next) => {
        const previous = this.holder.current;
        this.holder.current = next;
        this.keepDormant(previous.baselineSnapshots(), next);
      },
    });
  }

  /** The engine in force (tests and the demo read its state). */
  get engine(): RuleEngine {
    return this.holder.current;
  }

  start(): void {
    this.reloader.start();
    if (this.options.stateFile) {
      this.saveTimer = setInterval(() => this.saveState(), this.options.saveIntervalMs);
      this.saveTimer.unref();
    }
  }

  /** Reloads now, as SIGHUP does; resolves true if the new rules took effect. */
  reload(): Promise<boolean> {
    return this.reloader.reload('request');
  }

  close(): void {
    this.reloader.stop();
    clearInterval(this.saveTimer);
    this.saveState();
  }

  /**
   * Profiles of baseline rules not loaded now (disabled, or in a file taken out for a while),
   * from `profiles` and from what was kept before: they stay in the state file and come back
   * with their rule, rather than being written away at the next save.
   */
  private keepDormant(profiles: ReadonlyMap<string, readonly ProfileSnapshot[]>, engine: RuleEngine): void {
    const loaded = new Set(engine.rules.map((r) => r.name));
    const dormant = new Map<string, readonly ProfileSnapshot[]>();
    for (const source of [this.dormant, profiles]) for (const [rule, p] of source) if (!loaded.has(rule)) dormant.set(rule, p);
    this.dormant = dormant;
  }

  private readState(): ReadonlyMap<string, readonly ProfileSnapshot[]> {
    if (!this.options.stateFile) return new Map();
    try {
      const stamp = fileStamp(this.options.stateFile);
      const profiles = readBaselines(this.options.stateFile);
      this.known = { stamp, workloads: workloadsOf(profiles) };
      this.options.logger.info({ file: this.options.stateFile, rules: profiles.size }, 'learned baselines restored');
      return profiles;
    } catch (err) {
      // A damaged state file costs the learned profiles, not the detector: learn again.
      this.options.logger.error({ err: (err as Error).message }, 'baseline state unreadable; learning from scratch');
      return new Map();
    }
  }

  private saveState(): void {
    const file = this.options.stateFile;
    if (!file) return;
    // No baseline to keep and nothing on file: leave the file system alone.
    if (this.dormant.size === 0 && !this.holder.current.hasBaselines() && (this.known?.workloads.size ?? 0) === 0) return;
    try {
      // Under the lock, a reset cannot land between taking up the file and writing it.
      withStateLock(file, () => {
        this.takeResets(file);
        const snapshots = this.holder.current.baselineSnapshots();
        for (const [rule, p] of this.dormant) if (!snapshots.has(rule)) snapshots.set(rule, [...p]);
        if (snapshots.size === 0) return;
        writeBaselines(file, snapshots);
        this.known = { stamp: fileStamp(file), workloads: workloadsOf(snapshots) };
      });
    } catch (err) {
      this.options.logger.error({ file, err: (err as Error).message }, 'saving learned baselines failed');
    }
  }

  /**
   * `lanner baseline reset` edits the state file while this process runs. Profiles that were in
   * the file as this process last knew it and are gone from it now were reset: they are
   * forgotten here too, rather than written back. Profiles learned since, and the rest, stay.
   */
  private takeResets(file: string): void {
    const stamp = fileStamp(file);
    if (!this.known || stamp === this.known.stamp) return;
    let now: ReadonlyMap<string, readonly ProfileSnapshot[]>;
    try {
      now = stamp === undefined ? new Map() : readBaselines(file);
    } catch (err) {
      this.options.logger.error({ file, err: (err as Error).message }, 'baseline state changed and is unreadable; saving what is in memory');
      return;
    }
    const present = workloadsOf(now);
    const reset = new Map<string, Set<string>>();
    let count = 0;
    for (const [rule, workloads] of this.known.workloads) {
      const kept = present.get(rule);
      const gone = new Set([...workloads].filter((w) => !kept?.has(w)));
      if (gone.size === 0) continue;
      reset.set(rule, gone);
      count += gone.size;
    }
    this.known = { stamp, workloads: present };
    if (count === 0) return;
    this.holder.current.forgetBaselines(reset);
    const dormant = new Map<string, readonly ProfileSnapshot[]>();
    for (const [rule, profiles] of this.dormant) {
      const gone = reset.get(rule);
      const rest = gone ? profiles.filter((p) => !gone.has(p.workload)) : profiles;
      if (rest.length > 0) dormant.set(rule, rest);
    }
    this.dormant = dormant;
    this.options.logger.info({ file, profiles: count, rules: [...reset.keys()] }, 'baseline profiles reset in the state file are forgotten; they are learned again');
  }
}

type Workloads = ReadonlyMap<string, ReadonlySet<string>>;

function logWarnings(problems: readonly Problem[], logger: Logger): void {
  for (const p of problems) if (p.severity === 'warning') logger.warn({ problem: formatProblem(p) }, 'rule warning');
}

function workloadsOf(profiles: ReadonlyMap<string, readonly ProfileSnapshot[]>): Workloads {
  return new Map([...profiles].map(([rule, list]) => [rule, new Set(list.map((p) => p.workload))]));
}

/** What identifies one version of the file: a rename gives a new inode. Undefined when absent. */
function fileStamp(file: string): string | undefined {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}
