import type { Server } from 'node:net';
import { LannerError } from './errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Splits "HOST:PORT" ("[::1]:9376" for IPv6). */
export function parseHostPort(text: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  if (!m) throw new LannerError('LANNER_CONFIG_INVALID', `${JSON.stringify(text)} is not HOST:PORT`);
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

/** Listens and resolves with the bound address; a refusal becomes a LANNER_LISTEN error naming it. */
export function listenOn(server: Server, where: HostPort, what: string): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new LannerError('LANNER_LISTEN', `${what} cannot listen on ${where.host}:${where.port}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen(where.port, where.host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : where);
    });
  });
}
