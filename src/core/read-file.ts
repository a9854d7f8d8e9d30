/**
 * Reads the files Lanner is configured with (config, rules, learned state, rule tests) so that
 * no file can hang it or make it take memory without end. A FIFO blocks a plain open until a
 * writer comes and a read until it writes; a device such as /dev/zero never ends; a synchronous
 * read of either stops the event loop for good. So a file must be, after its symlinks are
 * followed, a regular file no larger than the caller's limit:
 *
 * - it is looked at (stat) before it is opened, so no device or FIFO is ever opened for what
 *   it is (opening some devices has effects);
 * - it is opened with O_NONBLOCK, so a FIFO put in its place meanwhile cannot block the open,
 *   and looked at again through the open descriptor (fstat), which is what is read;
 * - its size is checked before reading, and again while reading, so a file that grows while
 *   it is read is refused rather than read without end.
 *
 * Every refusal is a FileReadError naming the file and what is wrong with it.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { LannerError, type ErrorCode } from './errors.js';

/** What a file is for, and how large it may be. */
export interface ReadLimits {
  /** Largest size accepted, in bytes. */
  readonly maxBytes: number;
  /** What the file is, for messages: `rule file`, `config file`, `state file`. */
  readonly what: string;
}

/** Why a file was not read. */
export type FileRefusal = 'not_regular' | 'too_large' | 'unreadable';

const CODE_OF: Readonly<Record<FileRefusal, ErrorCode>> = {
  not_regular: 'LANNER_FILE_NOT_REGULAR',
  too_large: 'LANNER_FILE_TOO_LARGE',
  unreadable: 'LANNER_FILE_UNREADABLE',
};

/** A file that was refused or could not be read; the message names the file and the reason. */
export class FileReadError extends LannerError {
  constructor(
    readonly path: string,
    readonly refusal: FileRefusal,
    message: string,
    /** The system's error code (`ENOENT`, `EACCES`, ...) when the system refused. */
    readonly errno?: string,
  ) {
    super(CODE_OF[refusal], message);
    this.name = 'FileReadError';
  }
}

// O_NONBLOCK does not exist on Windows, where FIFOs are not files anyway.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
const CHUNK_BYTES = 64 * 1024;

/** Reads a text file (UTF-8) at once, refusing what is not a regular file within the limit. */
export function readTextFileSync(path: string, limits: ReadLimits): string {
  try {
    checkStats(path, statSync(path), limits);
  } catch (err) {
    throw asFileError(path, err, limits);
  }
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw asFileError(path, err, limits);
  }
  try {
    checkStats(path, fstatSync(fd), limits);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // Up to one byte more than the limit allows: reading it proves the file grew past it.
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limits.maxBytes - total + 1));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > limits.maxBytes) throw tooLarge(path, total, limits, 'while it was read');
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    throw asFileError(path, err, limits);
  } finally {
    closeSync(fd);
  }
}

/** Reads a text file (UTF-8) off the event loop, refusing what is not a regular file within the limit. */
export async function readTextFile(path: string, limits: ReadLimits): Promise<string> {
  try {
    checkStats(path, await stat(path), limits);
  } catch (err) {
    throw asFileError(path, err, limits);
  }
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (err) {
    throw asFileError(path, err, limits);
  }
  try {
    checkStats(path, await handle.stat(), limits);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limits.maxBytes - total + 1));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limits.maxBytes) throw tooLarge(path, total, limits, 'while it was read');
      chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    throw asFileError(path, err, limits);
  } finally {
    await handle.close();
  }
}

/**
 * What a file system entry is, as people name it, when it is not a regular file: `a FIFO`,
 * `a directory`, ...; undefined for a regular file.
 */
export function notRegularKind(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** `4 MiB`, `512 KiB`, `100 bytes`: sizes as the limits are written. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}

/** Refuses what is not a regular file within the limit. */
function checkStats(path: string, stats: Stats, limits: ReadLimits): void {
  const kind = notRegularKind(stats);
  if (kind !== undefined) {
    throw new FileReadError(path, 'not_regular', `${limits.what} ${path} is ${kind}, not a regular file: refusing to read it`);
  }
  if (stats.size > limits.maxBytes) throw tooLarge(path, stats.size, limits);
}

function tooLarge(path: string, size: number, limits: ReadLimits, when = ''): FileReadError {
  const what = when === '' ? `is ${size} bytes` : `grew past ${limits.maxBytes} bytes ${when}`;
  return new FileReadError(
    path,
    'too_large',
    `${limits.what} ${path} ${what}, over the limit of ${limits.maxBytes} bytes (${formatBytes(limits.maxBytes)}) for a ${limits.what}: refusing to read it`,
  );
}

const SYSTEM_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  EACCES: 'cannot be read: permission denied',
  EPERM: 'cannot be read: operation not permitted',
  ELOOP: 'is a loop of symbolic links',
  ENOTDIR: 'is not reachable: a part of its path is not a directory',
  ENAMETOOLONG: 'has a name too long for the system',
  // A socket cannot be opened as a file: the only way one reaches open().
  ENXIO: 'is a socket or a device with nothing behind it, not a regular file',
  EISDIR: 'is a directory, not a regular file',
};

function asFileError(path: string, err: unknown, limits: ReadLimits): FileReadError {
  if (err instanceof FileReadError) return err;
  const errno = (err as NodeJS.ErrnoException).code;
  const reason = errno !== undefined ? SYSTEM_REASONS[errno] : undefined;
  const refusal: FileRefusal = errno === 'ENXIO' || errno === 'EISDIR' ? 'not_regular' : 'unreadable';
  const message = reason !== undefined ? `${limits.what} ${path} ${reason}` : `${limits.what} ${path} cannot be read: ${(err as Error).message}`;
  return new FileReadError(path, refusal, message, errno);
}

/** A certificate chain or key is a few KiB; a file far larger is not the one meant. */
const PEM_FILE_MAX_BYTES = 1024 * 1024;

/**
 * A TLS certificate, key or CA file (PEM), through the same checks: a FIFO or `/dev/zero`
 * named as a TLS file is refused at once instead of hanging the start.
 */
export function readPemFileSync(path: string): Buffer {
  return Buffer.from(readTextFileSync(path, { maxBytes: PEM_FILE_MAX_BYTES, what: 'TLS file' }), 'utf8');
}
