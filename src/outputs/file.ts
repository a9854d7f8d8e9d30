/**
 * Alerts appended to a file, one formatted alert per line, rotated by size: when the next batch
 * would take the file past `max_size`, `alerts.log` becomes `alerts.log.1` (older ones shift up
 * to `max_files`, the oldest deleted) and a fresh file starts. Batched through the same queue as
 * network outputs, so a slow disk never stalls detection either.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import { FORMATS, type FormatName } from '../alerts/formats/index.js';
import type { Exporter, ExportResult } from './batch-queue.js';
import { commonShape, queueOptions, routeOf, size } from './options.js';
import { defineOutput } from './output.js';
import { QueuedOutput } from './queued-output.js';

export interface FileOptions {
  readonly path: string;
  readonly format: FormatName;
  readonly maxSizeBytes: number;
  /** Rotated files kept beside the live one. */
  readonly maxFiles: number;
}

export class FileExporter implements Exporter<Alert> {
  private handle: fs.FileHandle | undefined;
  private size = 0;

  constructor(private readonly o: FileOptions) {}

  async export(batch: readonly Alert[]): Promise<ExportResult<Alert>> {
    const bytes = Buffer.from(batch.map((a) => FORMATS[this.o.format](a) + '\n').join(''), 'utf8');
    try {
      await this.open();
      if (this.size > 0 && this.size + bytes.length > this.o.maxSizeBytes) await this.rotate();
      await this.handle!.appendFile(bytes);
      this.size += bytes.length;
      return { ok: true };
    } catch (err) {
      await this.handle?.close().catch(() => undefined);
      this.handle = undefined;
      return { ok: false, reason: 'write', retryable: true, detail: (err as Error).message };
    }
  }

  private async open(): Promise<void> {
    if (this.handle) return;
    await fs.mkdir(dirname(this.o.path), { recursive: true });
    this.handle = await fs.open(this.o.path, 'a', 0o640);
    this.size = (await this.handle.stat()).size;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    const p = this.o.path;
    if (this.o.maxFiles === 0) {
      await fs.rm(p, { force: true });
    } else {
      await fs.rm(`${p}.${this.o.maxFiles}`, { force: true });
      for (let i = this.o.maxFiles - 1; i >= 1; i--) {
        await fs.rename(`${p}.${i}`, `${p}.${i + 1}`).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
      }
      await fs.rename(p, `${p}.1`);
    }
    await this.open();
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

const options = z
  .object({
    ...commonShape('file', { batchSize: 100, interval: '200ms', format: 'native', formats: ['native', 'ecs', 'ocsf', 'cef', 'syslog'] }),
    path: z.string().min(1).describe('the file alerts are appended to (created with its directory, mode 0640)'),
    max_size: size('100MiB').describe('the file is rotated before a batch would take it past this size'),
    max_files: z.number().int().min(0).max(1000).default(5).describe('rotated files kept beside it (path.1 is the newest); 0 keeps none'),
  })
  .strict();

export const fileDescriptor = defineOutput({
  name: 'file',
  summary: 'Appends alerts to a file, one per line, rotating it by size.',
  example: ['- type: file', '  path: /var/log/lanner/alerts.jsonl', '  format: native', '  max_size: 100MiB', '  max_files: 5', ''].join('\n'),
  options,
  needs: { files: ['path (written, with its rotated copies path.1 .. path.<max_files>)'] },
  build(c, context, problems) {
    const route = routeOf(c, context, problems);
    return (name, deps) =>
      new QueuedOutput(name, route, queueOptions(c), new FileExporter({ path: c.path, format: c.format, maxSizeBytes: c.max_size, maxFiles: c.max_files }), deps);
  },
});
