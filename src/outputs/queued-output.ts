/**
 * The Output every queued sink is: route, then enqueue. `send` does no I/O and cannot block or
 * throw, so a slow or dead receiver only ever fills its own bounded queue.
 */
import type { Alert } from '../alerts/alert.js';
import type { Output, OutputDeps } from './output.js';
import { BatchQueue, type BatchQueueOptions, type Exporter } from './batch-queue.js';
import type { Route } from './route.js';

export class QueuedOutput implements Output {
  readonly queue: BatchQueue<Alert>;

  constructor(
    readonly name: string,
    private readonly route: Route,
    options: BatchQueueOptions,
    exporter: Exporter<Alert>,
    deps: OutputDeps,
  ) {
    this.queue = new BatchQueue(options, exporter, { name, logger: deps.logger, metrics: deps.metrics });
  }

  send(alert: Alert): void {
    if (this.route(alert)) this.queue.enqueue(alert);
  }

  flush(): Promise<void> {
    return this.queue.flush();
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
