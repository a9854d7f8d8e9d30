/**
 * Hot reload of rule files: on a change to a watched file or directory (and on SIGHUP), load
 * and validate the whole new set; apply it only if it has no errors. A broken file is logged
 * with its locations and counted, and the rules in force stay in force.
 *
 * Editors, `sed -i`, configuration management and Kubernetes ConfigMap volumes replace a file
 * by renaming a new one over it, and a watch on the file itself keeps following the old inode.
 * So each path is watched through its directory too (events filtered by the path's name, and
 * by `..data`, the symlink a ConfigMap update swaps), and before every reload the watches are
 * re-armed on whatever the paths name now.
 */
import { realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from '../core/log.js';
import type { LannerMetrics } from '../metrics/metrics.js';

export type LoadResult<T> = { readonly ok: true; readonly value: T; readonly count: number } | { readonly ok: false; readonly problems: readonly string[] };

export interface ReloaderOptions<T> {
  readonly paths: readonly string[];
  readonly load: () => Promise<LoadResult<T>> | LoadResult<T>;
  readonly apply: (value: T) => void;
  readonly logger: Logger;
  readonly metrics: LannerMetrics;
  /** Quiet time after the last change before reloading: editors write a file in several steps. */
  readonly debounceMs?: number;
}

/** The symlink a Kubernetes ConfigMap or Secret volume swaps, in one rename, on every update. */
const CONFIGMAP_DATA = '..data';

/** Which entries' events count: all of them (a watched file, or a rules directory), or these names. */
type Filter = 'all' | Set<string>;

interface Watch {
  readonly watcher: FSWatcher;
  /** Device and inode the watch was set on: when the path names another, the watch is renewed. */
  readonly identity: string;
  filter: Filter;
}

export class RulesReloader<T> {
  private readonly watches = new Map<string, Watch>();
  /** Paths that could not be watched, with the reason, so a lasting failure is logged once. */
  private readonly unwatchable = new Map<string, string>();
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private again = false;
  private readonly onHangup = (): void => void this.reload('SIGHUP');

  constructor(private readonly options: ReloaderOptions<T>) {}

  /** Starts watching the paths and listening for SIGHUP. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.arm();
    process.on('SIGHUP', this.onHangup);
  }

  stop(): void {
    this.started = false;
    clearTimeout(this.timer);
    for (const w of this.watches.values()) w.watcher.close();
    this.watches.clear();
    this.unwatchable.clear();
    process.off('SIGHUP', this.onHangup);
  }

  /** What is being watched now (a file, or a directory whose entries' events count). */
  get watched(): readonly string[] {
    return [...this.watches.keys()];
  }

  /** Loads and applies now; resolves true if the new rules took effect. Overlapping calls coalesce. */
  async reload(trigger: string): Promise<boolean> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.reloadOnce(trigger);
    try {
      return await this.running;
    } finally {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.reload(trigger);
      }
    }
  }

  private schedule(): void {
    if (!this.started) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload('file change'), this.options.debounceMs ?? 250);
    this.timer.unref();
  }

  /**
   * What to watch for each path: its directory, for the entry's name (a rename over the path, a
   * deleted or recreated path, a ConfigMap's `..data` swap); the path itself (a write in place;
   * for a directory, its entries); and when the path is a symlink, the directory of the file
   * it leads to, so a file replaced there is seen too.
   */
  private targets(): Map<string, Filter> {
    const targets = new Map<string, Filter>();
    const add = (path: string, names: Filter): void => {
      const had = targets.get(path);
      if (had === 'all' || names === 'all') targets.set(path, 'all');
      else targets.set(path, new Set([...(had ?? []), ...names]));
    };
    for (const given of this.options.paths) {
      const path = resolve(given);
      const parent = dirname(path);
      if (parent !== path) add(parent, new Set([basename(path), CONFIGMAP_DATA]));
      add(path, 'all');
      let real: string;
      try {
        real = realpathSync(path);
      } catch {
        continue; // Gone for now: the directory's watch sees it come back.
      }
      if (real !== path && dirname(real) !== real) add(dirname(real), new Set([basename(real)]));
    }
    return targets;
  }

  /** Sets the watches on what the paths name now: new ones, renewed ones, and none left over. */
  private arm(): void {
    const targets = this.targets();
    for (const path of [...this.watches.keys()]) if (!targets.has(path)) this.drop(path);
    for (const [path, filter] of targets) {
      let identity: string;
      try {
        // Before the watch is set: if the path is replaced in between, the next re-arm renews it.
        const st = statSync(path);
        identity = `${st.dev}:${st.ino}`;
      } catch (err) {
        this.drop(path);
        this.cannotWatch(path, err as NodeJS.ErrnoException);
        continue;
      }
      const current = this.watches.get(path);
      if (current && current.identity === identity) {
        current.filter = filter;
        continue;
      }
      this.drop(path);
      try {
        const entry: Watch = {
          identity,
          filter,
          watcher: watch(path, { persistent: false }, (_event, name) => {
            // Without a name (some platforms), anything may have changed.
            if (entry.filter === 'all' || name == null || entry.filter.has(String(name))) this.schedule();
          }),
        };
        entry.watcher.on('error', (err) => {
          if (this.watches.get(path) === entry) this.watches.delete(path);
          entry.watcher.close();
          this.options.logger.warn({ path, err: err.message }, 'watching rules failed; watching again at the next reload, SIGHUP still reloads');
          // Changes may have gone unseen: reload, which sets the watches again.
          this.schedule();
        });
        this.watches.set(path, entry);
        const was = this.unwatchable.get(path);
        this.unwatchable.delete(path);
        if (was !== undefined && was !== 'ENOENT') this.options.logger.info({ path }, 'watching rules again');
      } catch (err) {
        this.cannotWatch(path, err as NodeJS.ErrnoException);
      }
    }
  }

  private drop(path: string): void {
    this.watches.get(path)?.watcher.close();
    this.watches.delete(path);
  }

  private cannotWatch(path: string, err: NodeJS.ErrnoException): void {
    const reason = err.code ?? err.message;
    if (this.unwatchable.get(path) === reason) return;
    this.unwatchable.set(path, reason);
    // A path missing for now is seen again through its directory's watch.
    if (err.code === 'ENOENT') return;
    this.options.logger.warn({ path, err: err.message }, 'cannot watch rules; SIGHUP still reloads');
  }

  private async reloadOnce(trigger: string): Promise<boolean> {
    const { logger, metrics } = this.options;
    // Re-armed before loading: a change made after this is seen by the new watches.
    if (this.started) this.arm();
    let result: LoadResult<T>;
    try {
      result = await this.options.load();
    } catch (err) {
      result = { ok: false, problems: [(err as Error).message] };
    }
    if (!result.ok) {
      metrics.ruleReloadFailures.inc();
      metrics.rulesLastReloadSuccessful.set(0);
      logger.error({ trigger, problems: result.problems }, 'rule reload refused: the rules in force stay in force');
      return false;
    }
    this.options.apply(result.value);
    metrics.ruleReloads.inc();
    metrics.rulesLastReloadSuccessful.set(1);
    metrics.rulesLastReloadSuccessTimestampSeconds.setToCurrentTime();
    metrics.rulesLoaded.set(result.count);
    logger.info({ trigger, rules: result.count }, 'rules reloaded');
    return true;
  }
}
