/**
 * Hot reload of rule files: on a change to a watched file or directory (and on SIGHUP), load
 * and validate the whole new set; apply it only if it has no errors. A broken file is logged
 * with its locations and counted, and the rules in force stay in force.
 */
import { watch, type FSWatcher } from 'node:fs';
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

export class RulesReloader<T> {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private again = false;
  private readonly onHangup = (): void => void this.reload('SIGHUP');

  constructor(private readonly options: ReloaderOptions<T>) {}

  /** Starts watching the paths and listening for SIGHUP. */
  start(): void {
    for (const path of this.options.paths) {
      try {
        const watcher = watch(path, { recursive: true, persistent: false }, () => this.schedule());
        watcher.on('error', (err) => this.options.logger.warn({ path, err: err.message }, 'watching rules stopped; SIGHUP still reloads'));
        this.watchers.push(watcher);
      } catch (err) {
        this.options.logger.warn({ path, err: (err as Error).message }, 'cannot watch rules; SIGHUP still reloads');
      }
    }
    process.on('SIGHUP', this.onHangup);
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    process.off('SIGHUP', this.onHangup);
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
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload('file change'), this.options.debounceMs ?? 250);
    this.timer.unref();
  }

  private async reloadOnce(trigger: string): Promise<boolean> {
    const { logger, metrics } = this.options;
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
