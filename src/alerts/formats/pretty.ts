/**
 * A terminal rendering of an alert for people watching the demo or `lanner run` by hand:
 * two lines, the facts first, colour only when the stream is a terminal. Every string from the
 * alert goes through `terminalText`: the only escape sequences written are our own colours, and
 * an alert is always exactly these two lines.
 */
import type { Priority } from '../../core/event.js';
import { formatRfc3339Ns } from '../../core/time.js';
import type { Alert } from '../alert.js';
import { terminalText } from './text.js';

const COLOUR: Record<Priority, string> = {
  Emergency: '\x1b[1;41;97m',
  Alert: '\x1b[1;41;97m',
  Critical: '\x1b[1;31m',
  Error: '\x1b[31m',
  Warning: '\x1b[33m',
  Notice: '\x1b[36m',
  Informational: '\x1b[37m',
  Debug: '\x1b[90m',
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

export function formatPretty(alert: Alert, colour: boolean): string {
  const paint = (code: string, s: string): string => (colour ? `${code}${s}${RESET}` : s);
  const w = alert.workload;
  const p = alert.process;
  const where = w.pod ? `${w.namespace ?? '?'}/${w.pod}` : w.container_name && w.container_name !== 'host' ? `container ${w.container_name}` : 'host';
  const who = p.name ? `${p.name}${p.parent ? ` (parent ${p.parent})` : ''} as ${p.user ?? p.uid ?? '?'}` : '';
  const head = `${formatRfc3339Ns(alert.timeNs).slice(11, 23)} ${paint(COLOUR[alert.priority], terminalText(alert.priority).padEnd(13))} ${terminalText(alert.rule)}`;
  const count = alert.count > 1 ? ` x${alert.count}` : '';
  // An audit record's news is the decision itself, which its output says in one sentence.
  const detail = alert.action ? alert.output : [alert.hostname, where, w.image, who].filter((s) => s).join(' | ');
  return `${head}${count} ${paint(DIM, `[${terminalText(alert.origin)}]`)}\n    ${paint(DIM, terminalText(detail))}`;
}
