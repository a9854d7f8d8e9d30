/** Every alert format by the name configs and `lanner replay --format` use. */
import type { Alert } from '../alert.js';
import { formatCef } from './cef.js';
import { formatEcs } from './ecs.js';
import { formatNative } from './native.js';
import { formatOcsf } from './ocsf.js';
import { formatSyslog } from './syslog.js';

export type FormatName = 'native' | 'ecs' | 'ocsf' | 'cef' | 'syslog';

export const FORMATS: Readonly<Record<FormatName, (alert: Alert) => string>> = {
  native: formatNative,
  ecs: formatEcs,
  ocsf: formatOcsf,
  cef: formatCef,
  syslog: (alert) => formatSyslog(alert),
};

export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

export function isFormatName(name: unknown): name is FormatName {
  return typeof name === 'string' && Object.hasOwn(FORMATS, name);
}
