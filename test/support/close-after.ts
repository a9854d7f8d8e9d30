/** Closes what a test opened after each test: outputs first (they flush to the servers), then servers. */
import { afterEach } from 'vitest';

interface Closable {
  close(): Promise<void> | void;
}

export function closeAfterEach(): { readonly outputs: Closable[]; readonly servers: Closable[] } {
  const held = { outputs: [] as Closable[], servers: [] as Closable[] };
  afterEach(async () => {
    await Promise.all(held.outputs.splice(0).map((o) => o.close()));
    await Promise.all(held.servers.splice(0).map((s) => s.close()));
  });
  return held;
}
