/**
 * A receiver behind a reverse proxy lives under a path (`https://gateway/loki/`): each HTTP
 * output appends its API path to the configured URL's path, never to the host's root.
 */
import { describe, expect, it } from 'vitest';
import { enrichAlert } from '../../src/alerts/enrich.js';
import { endpointUrl } from '../../src/outputs/http-client.js';
import { findOutput } from '../../src/outputs/registry.js';
import { TEST_CONTEXT } from './parse-context.js';
import { shellAlert } from '../support/alerts.js';
import { startStandin, type Answer } from '../support/http-standin.js';
import { testDeps, value } from '../support/output-metrics.js';
import { closeAfterEach } from '../support/close-after.js';

const held = closeAfterEach();

/** Sends one alert through an output of `block` to a stand-in answering `answer`; the paths it was asked for. */
async function pathsFor(block: (base: string) => Record<string, unknown>, answer: Answer): Promise<string[]> {
  const standin = await startStandin(() => answer);
  held.servers.push(standin);
  const config = block(standin.url);
  const parsed = findOutput(String(config['type']))!.parse(config, TEST_CONTEXT);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const deps = testDeps();
  const output = parsed.create('out', deps);
  held.outputs.push(output);
  output.send(enrichAlert(shellAlert()));
  await output.flush();
  expect(await value(deps.metrics.outputSent, { output: 'out' })).toBe(1);
  return standin.requests.map((r) => r.path);
}

const LOKI: Answer = { status: 204 };
const ES: Answer = { status: 200, body: '{"errors":false,"items":[]}' };
const HEC: Answer = { status: 200, body: '{"text":"Success","code":0}' };
const HOOK: Answer = { status: 200 };

describe('sink URL path prefix', () => {
  it.each([
    ['no prefix', '', '/loki/api/v1/push'],
    ['a prefix', '/gateway/loki', '/gateway/loki/loki/api/v1/push'],
    ['a prefix with a trailing slash', '/gateway/loki/', '/gateway/loki/loki/api/v1/push'],
  ])('Loki pushes under %s', async (_, prefix, path) => {
    expect(await pathsFor((base) => ({ type: 'loki', url: `${base}${prefix}` }), LOKI)).toEqual([path]);
  });

  it.each([
    ['no prefix', '', '/_bulk'],
    ['a prefix', '/es', '/es/_bulk'],
    ['a prefix with a trailing slash', '/es/', '/es/_bulk'],
  ])('Elasticsearch posts _bulk under %s', async (_, prefix, path) => {
    expect(await pathsFor((base) => ({ type: 'elasticsearch', url: `${base}${prefix}`, index: 'lanner' }), ES)).toEqual([path]);
  });

  it('Elasticsearch keeps the prefix with an ingest pipeline in the query', async () => {
    expect(await pathsFor((base) => ({ type: 'elasticsearch', url: `${base}/es/`, index: 'lanner', pipeline: 'geo ip' }), ES)).toEqual(['/es/_bulk?pipeline=geo%20ip']);
  });

  it.each([
    ['no prefix', '', '/services/collector/event'],
    ['a prefix', '/splunk', '/splunk/services/collector/event'],
    ['a prefix with a trailing slash', '/splunk/', '/splunk/services/collector/event'],
  ])('Splunk HEC posts under %s', async (_, prefix, path) => {
    expect(await pathsFor((base) => ({ type: 'splunk_hec', url: `${base}${prefix}`, token: 't' }), HEC)).toEqual([path]);
  });

  it.each([
    ['a path', '/hooks/lanner', '/hooks/lanner'],
    ['a trailing slash', '/hooks/lanner/', '/hooks/lanner/'],
    ['a query', '/hooks/lanner?team=secops&x=1', '/hooks/lanner?team=secops&x=1'],
  ])('the webhook posts to its URL exactly, with %s', async (_, path, want) => {
    expect(await pathsFor((base) => ({ type: 'webhook', url: `${base}${path}` }), HOOK)).toEqual([want]);
  });

  it('joins paths and queries: the base query first, the fragment never sent', () => {
    const join = (base: string, path: string) => endpointUrl(new URL(base), path).href;
    expect(join('https://h/', '/_bulk')).toBe('https://h/_bulk');
    expect(join('https://h', '/_bulk')).toBe('https://h/_bulk');
    expect(join('https://h/a/b//', '/_bulk')).toBe('https://h/a/b/_bulk');
    expect(join('https://h/a?tenant=x#frag', '/_bulk?pipeline=p')).toBe('https://h/a/_bulk?tenant=x&pipeline=p');
    expect(join('https://u:p@h:8443/hook?q=1#f', '')).toBe('https://u:p@h:8443/hook?q=1');
    // An absolute URL is its own endpoint (the webhook responder passes its URL whole).
    expect(join('https://h/prefix/', 'https://other/hook?x=1')).toBe('https://other/hook?x=1');
  });
});
