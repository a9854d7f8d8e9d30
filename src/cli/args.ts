import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LannerError } from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** util.parseArgs, with its complaints turned into LANNER_USAGE errors that name the command. */
export function parseFlags<T extends Options>(command: string, argv: readonly string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals, strict: true });
  } catch (err) {
    throw new LannerError('LANNER_USAGE', `${command}: ${(err as Error).message} (see 'lanner ${command} --help')`);
  }
}
