/**
 * Alerts on standard output: native JSON lines for machines, or the readable two-line form for
 * a person at a terminal. If stdout cannot keep up, alerts beyond a bounded backlog are dropped
 * and counted rather than held in memory without limit.
 */
import type { Writable } from 'node:stream';
import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import { formatNative } from '../alerts/formats/native.js';
import { formatPretty } from '../alerts/formats/pretty.js';
import { FORMATS, isFormatName } from '../alerts/formats/index.js';
import { outputSeries } from '../metrics/event-labels.js';
import { size } from './options.js';
import { defineOutput, type Output, type OutputDeps } from './output.js';

/** `json` is the native format; the SIEM formats (ecs, ocsf, cef, syslog) print one alert per line. */
export type StdoutFormat = 'json' | 'pretty' | 'auto' | 'native' | 'ecs' | 'ocsf' | 'cef' | 'syslog';

export interface StdoutConfig {
  readonly format: StdoutFormat;
  /** Bytes that may wait in the stream's buffer before alerts are dropped. */
  readonly maxBacklogBytes: number;
}

export class StdoutOutput implements Output {
  private readonly pretty: boolean;
  private readonly colour: boolean;
  private readonly sent;
  private readonly dropped;

  constructor(
    readonly name: string,
    private readonly config: StdoutConfig,
    deps: OutputDeps,
    private readonly stream: Writable & { isTTY?: boolean } = process.stdout,
  ) {
    const tty = stream.isTTY === true;
    this.pretty = config.format === 'pretty' || (config.format === 'auto' && tty);
    this.colour = this.pretty && tty && !process.env['NO_COLOR'];
    // Every series at 0 from the start, so LannerOutputDropping sees the first lost alert.
    const series = outputSeries(deps.metrics, name, { dropped: ['backlog_full', 'stream_closed'] });
    this.sent = series.sent;
    this.dropped = series.dropped('backlog_full');
    const closedDrops = series.dropped('stream_closed');
    // A reader that goes away (`lanner run | head`) must not take the detector with it: the
    // output stops, says so once, and counts what it could no longer deliver.
    this.closed = (why) => {
      if (this.closedDrops) return;
      this.closedDrops = closedDrops;
      deps.logger.error({ output: name, reason: why }, 'standard output closed; alerts to it are dropped and counted');
    };
    stream.on('error', (err: NodeJS.ErrnoException) => this.closed(err.code ?? err.message));
  }

  private closedDrops: { inc(): void } | undefined;
  private readonly closed: (why: string) => void;

  send(alert: Alert): void {
    // A pipe whose reader left is an error event (EPIPE) or, for a child's stdin, a destroyed stream.
    if (!this.closedDrops && this.stream.destroyed) this.closed('destroyed');
    if (this.closedDrops) {
      this.closedDrops.inc();
      return;
    }
    if (this.stream.writableLength > this.config.maxBacklogBytes) {
      this.dropped.inc();
      return;
    }
    const f = this.config.format;
    const line = this.pretty ? formatPretty(alert, this.colour) : isFormatName(f) ? FORMATS[f](alert) : formatNative(alert);
    this.stream.write(line + '\n');
    this.sent.inc();
  }

  flush(): Promise<void> {
    if (this.closedDrops || this.stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => this.stream.write('', () => resolve()));
  }

  close(): Promise<void> {
    return this.flush();
  }
}

const STDOUT_FORMATS = ['json', 'pretty', 'auto', 'native', 'ecs', 'ocsf', 'cef', 'syslog'] as const satisfies readonly StdoutFormat[];

const options = z
  .object({
    type: z.literal('stdout').describe('"stdout" selects this output'),
    name: z.string().min(1).optional().describe('names this output in metrics and logs (default: the type); unique among outputs'),
    format: z
      .enum(STDOUT_FORMATS, { error: (issue) => `${JSON.stringify(issue.input)} is not one of ${STDOUT_FORMATS.join(', ')}` })
      .default('json')
      .describe('json (native JSON lines), pretty (readable, for a person), auto (pretty on a terminal, json otherwise), or a SIEM format, one alert per line'),
    max_backlog_bytes: size('16MiB').describe('bytes that may wait unwritten in the stream; alerts beyond are dropped and counted as backlog_full'),
  })
  .strict();

export const stdoutDescriptor = defineOutput({
  name: 'stdout',
  summary: 'Writes alerts to standard output: native JSON lines, or a readable form on a terminal.',
  example: '- type: stdout\n  format: json        # json | pretty | auto (pretty on a terminal) | ecs | ocsf | cef | syslog\n',
  options,
  needs: {},
  build(c) {
    const config: StdoutConfig = { format: c.format, maxBacklogBytes: c.max_backlog_bytes };
    return (name, deps) => new StdoutOutput(name, config, deps);
  },
});
