/**
 * Rate limits in fixed windows of event time: at most `count` alerts per `perMs`, globally and
 * per rule. What a limit holds back is counted per rule; when the window ends, one
 * `AlertLimitReached` alert per rule says how many were held back, at the most severe priority
 * among them, so outputs that route by priority still hear about it.
 */
import { PRIORITIES, type Priority } from '../../core/event.js';
import { formatRfc3339Ns } from '../../core/time.js';
import { derivedId, type Alert, type HeldBack } from '../alert.js';

export interface Limit {
  readonly count: number;
  readonly perMs: number;
}

export interface RateLimitOptions {
  readonly global?: Limit;
  /** Applies to every rule without its own entry in `rules`. */
  readonly perRule?: Limit;
  readonly rules?: ReadonlyMap<string, Limit>;
  /** Per-rule windows kept at once; the oldest is closed early beyond it. */
  readonly maxRules: number;
}

export const LIMIT_RULE = 'AlertLimitReached';

interface Held {
  count: number;
  priority: Priority;
  from: bigint;
  to: bigint;
  last: Alert;
}

interface Window {
  readonly scope: 'global' | 'rule';
  readonly limit: Limit;
  readonly startNs: bigint;
  readonly endNs: bigint;
  used: number;
  readonly held: Map<string, Held>;
}

export class RateLimiter {
  private global: Window | undefined;
  private readonly perRule = new Map<string, Window>();
  /** No per-rule window ends before this, so most sweeps skip the loop. */
  private earliestEndNs: bigint | undefined;

  constructor(private readonly options: RateLimitOptions) {}

  /** True when `alert` may go out; otherwise it is counted as held back. */
  admit(alert: Alert, out: Alert[]): boolean {
    const t = alert.timeNs;
    const ruleLimit = this.options.rules?.get(alert.rule) ?? this.options.perRule;
    let ruleWindow: Window | undefined;
    if (ruleLimit && ruleLimit.count > 0) {
      ruleWindow = this.perRule.get(alert.rule);
      if (ruleWindow && t >= ruleWindow.endNs) {
        this.perRule.delete(alert.rule);
        this.closeWindow(ruleWindow, out);
        ruleWindow = undefined;
      }
      if (!ruleWindow) {
        if (this.perRule.size >= this.options.maxRules) {
          const [oldestRule, oldest] = this.perRule.entries().next().value as [string, Window];
          this.perRule.delete(oldestRule);
          this.closeWindow(oldest, out);
        }
        ruleWindow = openWindow('rule', ruleLimit, t);
        this.perRule.set(alert.rule, ruleWindow);
        if (this.earliestEndNs === undefined || ruleWindow.endNs < this.earliestEndNs) this.earliestEndNs = ruleWindow.endNs;
      }
      if (ruleWindow.used >= ruleLimit.count) {
        hold(ruleWindow, alert);
        return false;
      }
    }
    const g = this.options.global;
    if (g && g.count > 0) {
      if (this.global && t >= this.global.endNs) {
        this.closeWindow(this.global, out);
        this.global = undefined;
      }
      this.global ??= openWindow('global', g, t);
      if (this.global.used >= g.count) {
        hold(this.global, alert);
        return false;
      }
      this.global.used++;
    }
    if (ruleWindow) ruleWindow.used++;
    return true;
  }

  /** Closes the windows that ended by `nowNs`, pushing their limit alerts. */
  expire(nowNs: bigint, out: Alert[]): void {
    if (this.global && nowNs >= this.global.endNs) {
      this.closeWindow(this.global, out);
      this.global = undefined;
    }
    if (this.earliestEndNs === undefined || nowNs < this.earliestEndNs) return;
    let earliest: bigint | undefined;
    for (const [rule, w] of this.perRule) {
      if (nowNs >= w.endNs) {
        this.perRule.delete(rule);
        this.closeWindow(w, out);
      } else if (earliest === undefined || w.endNs < earliest) {
        earliest = w.endNs;
      }
    }
    this.earliestEndNs = earliest;
  }

  flush(out: Alert[]): void {
    this.expire(BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000_000n, out);
  }

  private closeWindow(w: Window, out: Alert[]): void {
    for (const [rule, held] of w.held) out.push(limitAlert(rule, held, w));
  }
}

function openWindow(scope: Window['scope'], limit: Limit, t: bigint): Window {
  return { scope, limit, startNs: t, endNs: t + BigInt(Math.round(limit.perMs * 1e6)), used: 0, held: new Map() };
}

function hold(w: Window, alert: Alert): void {
  const h = w.held.get(alert.rule);
  if (!h) {
    w.held.set(alert.rule, { count: alert.count, priority: alert.priority, from: alert.timeNs, to: alert.timeNs, last: alert });
    return;
  }
  h.count += alert.count;
  if (PRIORITIES.indexOf(alert.priority) < PRIORITIES.indexOf(h.priority)) h.priority = alert.priority;
  if (alert.timeNs < h.from) h.from = alert.timeNs;
  if (alert.timeNs > h.to) h.to = alert.timeNs;
  h.last = alert;
}

function limitAlert(rule: string, held: Held, w: Window): Alert {
  const heldBack: HeldBack = {
    rule,
    count: held.count,
    scope: w.scope,
    limit: w.limit.count,
    window_ms: w.limit.perMs,
    from: held.from,
    to: held.to,
  };
  const scope = w.scope === 'global' ? 'the global limit' : 'its per-rule limit';
  return {
    // One limit alert per held rule per window: the window's scope and start and the rule say which.
    id: derivedId('limit', [w.scope, w.startNs, rule, held.count, held.from, held.to]),
    timeNs: held.to,
    rule: LIMIT_RULE,
    priority: held.priority,
    source: 'lanner',
    hostname: held.last.hostname,
    output: `${held.count} alerts of rule "${rule}" were held back by ${scope} (${w.limit.count} per ${w.limit.perMs} ms) between ${formatRfc3339Ns(held.from)} and ${formatRfc3339Ns(held.to)}`,
    tags: ['lanner', 'rate_limit'],
    origin: 'lanner',
    workload: { namespace: null, pod: null, container_id: null, container_name: null, image: null },
    process: { pid: null, name: null, cmdline: null, parent: null, user: null, uid: null },
    evidence: [],
    count: held.count,
    held_back: heldBack,
    ...(held.last.node === undefined ? {} : { node: held.last.node }),
    ...(held.last.cluster === undefined ? {} : { cluster: held.last.cluster }),
  };
}
