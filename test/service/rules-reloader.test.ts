import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import { createMetrics, type LannerMetrics } from '../../src/metrics/metrics.js';
import { RulesReloader } from '../../src/service/rules-reloader.js';
import { sleep, waitFor } from '../support/wait.js';
import { tempDirs } from '../support/temp-dirs.js';

const makeTempDir = tempDirs();

const DEBOUNCE_MS = 30;

async function counter(c: LannerMetrics['ruleReloads']): Promise<number> {
  return (await c.get()).values[0]?.value ?? 0;
}

/** As an editor saves: a new file written beside the target, then renamed over it. */
function replaceByRename(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * A reloader whose "rules" are the text of `read()`; text containing `broken` does not load.
 * `applied` is what took effect, in order.
 */
function reloader(paths: string[], read: () => string) {
  const metrics = createMetrics({ processMetrics: false });
  const applied: string[] = [];
  const r = new RulesReloader<string>({
    paths,
    logger: silentLogger(),
    metrics,
    debounceMs: DEBOUNCE_MS,
    load: () => {
      const text = read();
      return text.includes('broken') ? { ok: false, problems: ['broken rules'] } : { ok: true, value: text, count: 1 };
    },
    apply: (text) => applied.push(text),
  });
  started.push(r);
  return { r, metrics, applied, last: () => applied.at(-1) };
}

/**
 * The versions applied, in order, a repeat in a row counted once: one change may reach the
 * watches as several events, more than a debounce apart on a loaded machine, and reloading
 * the same text again is harmless. A version out of place, or one never written, is not.
 */
function versions(applied: readonly string[]): string[] {
  return applied.filter((text, i) => text !== applied[i - 1]);
}

const started: RulesReloader<string>[] = [];
afterEach(() => {
  for (const r of started.splice(0)) r.stop();
});

function tempDir(): string {
  return makeTempDir('reload');
}

/** A Kubernetes ConfigMap volume: `rules.yaml -> ..data/rules.yaml`, `..data -> ..<version>`. */
function configMap(dir: string, version: string, text: string): void {
  mkdirSync(join(dir, `..${version}`));
  writeFileSync(join(dir, `..${version}`, 'rules.yaml'), text);
  symlinkSync(`..${version}`, join(dir, '..data'));
  symlinkSync('..data/rules.yaml', join(dir, 'rules.yaml'));
}

/** A ConfigMap update as the kubelet makes it: new version directory, `..data` swapped in one rename, old one removed. */
function updateConfigMap(dir: string, from: string, to: string, text: string): void {
  mkdirSync(join(dir, `..${to}`));
  writeFileSync(join(dir, `..${to}`, 'rules.yaml'), text);
  symlinkSync(`..${to}`, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  rmSync(join(dir, `..${from}`), { recursive: true });
}

describe('RulesReloader watching', () => {
  it('keeps seeing a single file after it is replaced by rename, then written in place, then replaced again', async () => {
    const dir = tempDir();
    const file = join(dir, 'live.yaml');
    writeFileSync(file, 'v1');
    const { r, metrics, last } = reloader([file], () => readFileSync(file, 'utf8'));
    r.start();

    replaceByRename(file, 'v2');
    await waitFor(() => last() === 'v2', { what: 'v2 applied after a rename over the file' });
    expect(await counter(metrics.ruleReloads)).toBeGreaterThanOrEqual(1);

    writeFileSync(file, 'v3');
    await waitFor(() => last() === 'v3', { what: 'v3 applied after a write in place to the new file' });

    replaceByRename(file, 'v4');
    await waitFor(() => last() === 'v4', { what: 'v4 applied after a second rename' });

    writeFileSync(file, 'v5');
    await waitFor(() => last() === 'v5', { what: 'v5 applied after another write in place' });
    expect(await counter(metrics.ruleReloads)).toBeGreaterThanOrEqual(4);
    expect(await counter(metrics.ruleReloadFailures)).toBe(0);
  });

  it('refuses a broken replacement, counts it, keeps the rules in force, and takes the fixed file', async () => {
    const dir = tempDir();
    const file = join(dir, 'live.yaml');
    writeFileSync(file, 'v1');
    const { r, metrics, applied, last } = reloader([file], () => readFileSync(file, 'utf8'));
    r.start();

    replaceByRename(file, 'v2');
    await waitFor(() => last() === 'v2', { what: 'v2 applied' });

    replaceByRename(file, 'broken');
    await waitFor(async () => (await counter(metrics.ruleReloadFailures)) >= 1, { what: 'the broken file refused and counted' });
    expect(last()).toBe('v2');
    expect(applied).not.toContain('broken');
    expect((await metrics.rulesLastReloadSuccessful.get()).values[0]?.value).toBe(0);

    replaceByRename(file, 'v3');
    await waitFor(() => last() === 'v3', { what: 'the fixed file applied' });
    expect((await metrics.rulesLastReloadSuccessful.get()).values[0]?.value).toBe(1);
  });

  it('sees a ConfigMap update of a rule file (a swap of the ..data symlink), again and again', async () => {
    const dir = tempDir();
    configMap(dir, '2024_01', 'v1');
    const file = join(dir, 'rules.yaml');
    const { r, metrics, applied, last } = reloader([file], () => readFileSync(file, 'utf8'));
    r.start();

    updateConfigMap(dir, '2024_01', '2024_02', 'v2');
    await waitFor(() => last() === 'v2', { what: 'v2 applied after the first ConfigMap update' });
    updateConfigMap(dir, '2024_02', '2024_03', 'v3');
    await waitFor(() => last() === 'v3', { what: 'v3 applied after the second ConfigMap update' });
    updateConfigMap(dir, '2024_03', '2024_04', 'v4');
    await waitFor(() => last() === 'v4', { what: 'v4 applied after the third ConfigMap update' });
    // Each update taken whole: never the old version again, never a read of a half-swapped volume.
    expect(versions(applied)).toEqual(['v2', 'v3', 'v4']);
    expect(await counter(metrics.ruleReloadFailures)).toBe(0);
  });

  it('sees a ConfigMap update when the rules directory itself is watched', async () => {
    const dir = tempDir();
    configMap(dir, '2024_01', 'v1');
    const { r, metrics, applied, last } = reloader([dir], () => readFileSync(join(dir, 'rules.yaml'), 'utf8'));
    r.start();
    expect(r.watched).toContain(dir);

    updateConfigMap(dir, '2024_01', '2024_02', 'v2');
    await waitFor(() => last() === 'v2', { what: 'v2 applied' });
    updateConfigMap(dir, '2024_02', '2024_03', 'v3');
    await waitFor(() => last() === 'v3', { what: 'v3 applied' });
    expect(versions(applied)).toEqual(['v2', 'v3']);
    expect(await counter(metrics.ruleReloadFailures)).toBe(0);
  });

  it('keeps watching a rules directory: files renamed in, written in place, and the directory replaced', async () => {
    const root = tempDir();
    const dir = join(root, 'rules.d');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), 'a1');
    const read = () => readFileSync(join(dir, 'a.yaml'), 'utf8');
    const { r, metrics, applied, last } = reloader([dir], read);
    r.start();

    replaceByRename(join(dir, 'a.yaml'), 'a2');
    await waitFor(() => last() === 'a2', { what: 'a2 applied' });
    writeFileSync(join(dir, 'a.yaml'), 'a3');
    await waitFor(() => last() === 'a3', { what: 'a3 applied' });

    // The whole directory swapped for a new one, as some deploy tools do.
    const next = join(root, 'rules.d.new');
    mkdirSync(next);
    writeFileSync(join(next, 'a.yaml'), 'a4');
    renameSync(dir, join(root, 'rules.d.old'));
    renameSync(next, dir);
    await waitFor(() => last() === 'a4', { what: 'a4 applied after the directory was replaced' });
    writeFileSync(join(dir, 'a.yaml'), 'a5');
    await waitFor(() => last() === 'a5', { what: 'a5 applied from the new directory' });
    // The swap of directories is two renames in a row: no reload ran between them.
    expect(versions(applied)).toEqual(['a2', 'a3', 'a4', 'a5']);
    expect(await counter(metrics.ruleReloadFailures)).toBe(0);
  });

  it('follows a symlinked rule file whose target is replaced by rename elsewhere', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'etc'));
    mkdirSync(join(root, 'src'));
    const target = join(root, 'src', 'rules.yaml');
    writeFileSync(target, 'v1');
    const link = join(root, 'etc', 'rules.yaml');
    symlinkSync(target, link);
    const { r, metrics, applied, last } = reloader([link], () => readFileSync(link, 'utf8'));
    r.start();
    // The link's own directory and the directory of the file it leads to are both watched.
    expect(r.watched).toEqual(expect.arrayContaining([join(root, 'etc'), join(root, 'src')]));

    replaceByRename(target, 'v2');
    await waitFor(() => last() === 'v2', { what: 'v2 applied' });
    writeFileSync(target, 'v3');
    await waitFor(() => last() === 'v3', { what: 'v3 applied' });
    expect(versions(applied)).toEqual(['v2', 'v3']);
    expect(await counter(metrics.ruleReloadFailures)).toBe(0);
  });

  it('closes its watches and stops listening for SIGHUP on stop', async () => {
    const dir = tempDir();
    const file = join(dir, 'live.yaml');
    writeFileSync(file, 'v1');
    const hangups = process.listenerCount('SIGHUP');
    const { r, metrics, last } = reloader([file], () => readFileSync(file, 'utf8'));
    r.start();
    expect(r.watched.length).toBeGreaterThan(0);
    expect(process.listenerCount('SIGHUP')).toBe(hangups + 1);

    replaceByRename(file, 'v2');
    await waitFor(() => last() === 'v2', { what: 'v2 applied' });
    r.stop();
    expect(r.watched).toEqual([]);
    expect(process.listenerCount('SIGHUP')).toBe(hangups);

    const reloads = await counter(metrics.ruleReloads);
    replaceByRename(file, 'v3');
    writeFileSync(file, 'v4');
    // A sleep, as nothing is to happen: a watch left open would show itself within ten debounce periods.
    await sleep(DEBOUNCE_MS * 10);
    expect(await counter(metrics.ruleReloads)).toBe(reloads);
    expect(last()).toBe('v2');
  });
});
