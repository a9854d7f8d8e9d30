/**
 * The `lanner` command line. Exit codes: 0 success, 1 a failure while running, 2 bad usage or
 * configuration (the message says which key or flag).
 */
import { isLannerError } from '../core/errors.js';
import { version } from '../core/version.js';
import { MAIN_HELP } from './usage.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * `lanner rules lint | head -1`: once the reader has gone, the rest of the output has nowhere to
 * go and is dropped; the command still finishes and exits with its own status. Other write
 * errors stay fatal. Not for `run`, whose stdout output counts what it fails to deliver.
 */
let stdoutGuarded = false;

function ignoreClosedStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'run') ignoreClosedStdout();
  try {
    switch (command) {
      // Each command loads only what it uses: replay and --help start without gRPC or TLS.
      case 'run':
        return await (await import('./run.js')).runService(rest);
      case 'replay':
        return await (await import('./replay.js')).runReplay(rest);
      case 'demo':
        return await (await import('./demo.js')).runDemo(rest);
      case 'rules':
        return await (await import('./rules.js')).runRules(rest);
      case 'baseline':
        return await (await import('./baseline.js')).runBaseline(rest);
      case 'check':
        return await (await import('./check.js')).runCheck(rest);
      case 'plugins':
        return (await import('./plugins.js')).runPlugins(rest);
      case 'quarantine':
      case 'release':
        return await (await import('./quarantine.js')).runQuarantine(command, rest);
      case '--version':
      case '-v':
        process.stdout.write(`lanner ${version()}\n`);
        return EXIT_OK;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(MAIN_HELP);
        return command === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        process.stderr.write(`lanner: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`);
        return EXIT_USAGE;
    }
  } catch (err) {
    if (isLannerError(err)) {
      process.stderr.write(`lanner: ${err.code}: ${err.message}\n`);
      return err.code === 'LANNER_CONFIG_INVALID' || err.code === 'LANNER_CONFIG_READ' || err.code === 'LANNER_RULES_INVALID' || err.code === 'LANNER_USAGE' || err.code === 'LANNER_NO_SOURCE' || err.code === 'LANNER_KUBE_CONFIG'
        ? EXIT_USAGE
        : EXIT_FAILURE;
    }
    throw err;
  }
}
