/**
 * A stand-in for the Kubernetes API server, for the demo and the tests, since no real one runs
 * here. It serves exactly the REST calls Lanner's responders make (paths, verbs, patch content
 * types, Status error bodies as the real API writes them) and answers anything else as the
 * real API would refuse it: 404 for an unknown path, 405 for a verb a path lacks, 415 for a
 * patch type it does not take, 422 for an invalid object, 401 without the bearer token, and,
 * given RBAC rules, 403 for whatever those rules do not grant. Every request is recorded.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { PermissionRule } from '../actions/responder.js';

export interface RecordedKubeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

/** An RBAC rule as a ClusterRole writes it: the stand-in enforces the responders' own shape. */
export type KubeRbacRule = PermissionRule;

export interface KubeStandInOptions {
  readonly token: string;
  /** PEM files; without them the stand-in serves plain HTTP (for the demo, on loopback). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** When given, every request outside these rules is refused with 403, as RBAC would. */
  readonly rbac?: readonly KubeRbacRule[];
  /** The identity named in 403 messages. */
  readonly user?: string;
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

interface Fault {
  readonly method: string;
  readonly path: RegExp;
  readonly status: number;
  readonly reason: string;
  readonly message: string;
  remaining: number;
}

const PATCH_TYPES = ['application/strategic-merge-patch+json', 'application/merge-patch+json'];

interface Route {
  readonly pattern: RegExp;
  readonly group: string;
  readonly resource: string;
  /** Verbs by HTTP method, as RBAC names them. */
  readonly verbs: Readonly<Record<string, string>>;
}

const ROUTES: readonly Route[] = [
  { pattern: /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/, group: '', resource: 'pods', verbs: { GET: 'get', PATCH: 'patch', DELETE: 'delete' } },
  { pattern: /^\/api\/v1\/namespaces\/([^/]+)\/pods$/, group: '', resource: 'pods', verbs: { GET: 'list' } },
  { pattern: /^\/api\/v1\/pods$/, group: '', resource: 'pods', verbs: { GET: 'list' } },
  { pattern: /^\/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/networkpolicies\/([^/]+)$/, group: 'networking.k8s.io', resource: 'networkpolicies', verbs: { GET: 'get', PATCH: 'patch' } },
  { pattern: /^\/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/networkpolicies$/, group: 'networking.k8s.io', resource: 'networkpolicies', verbs: { POST: 'create' } },
  { pattern: /^\/api\/v1\/namespaces\/([^/]+)\/events$/, group: '', resource: 'events', verbs: { POST: 'create' } },
  { pattern: /^\/api\/v1\/nodes\/([^/]+)$/, group: '', resource: 'nodes', verbs: { GET: 'get', PATCH: 'patch' } },
  { pattern: /^\/api\/v1\/nodes$/, group: '', resource: 'nodes', verbs: { GET: 'list' } },
];

export class KubeApiStandIn {
  readonly requests: RecordedKubeRequest[] = [];
  private readonly pods = new Map<string, Obj>();
  private readonly policies = new Map<string, Obj>();
  private readonly nodes = new Map<string, Obj>();
  readonly events: Obj[] = [];
  private readonly faults: Fault[] = [];
  private readonly server: Server;
  private version = 1000;
  private port = 0;

  constructor(private readonly options: KubeStandInOptions) {
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    this.server = options.tls
      ? createHttpsServer({ cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) }, handler)
      : createHttpServer(handler);
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.url;
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  addPod(namespace: string, name: string, opts: { node?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {}): void {
    this.pods.set(`${namespace}/${name}`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: this.meta({ name, namespace, labels: { ...(opts.labels ?? {}) }, annotations: { ...(opts.annotations ?? {}) } }),
      spec: { nodeName: opts.node ?? 'worker-1', containers: [{ name: 'main', image: 'example/app:1' }] },
      status: { phase: 'Running' },
    });
  }

  addNode(name: string, labels: Record<string, string> = {}): void {
    this.nodes.set(name, { apiVersion: 'v1', kind: 'Node', metadata: this.meta({ name, labels }), spec: {} });
  }

  pod(namespace: string, name: string): Obj | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  policy(namespace: string, name: string): Obj | undefined {
    return this.policies.get(`${namespace}/${name}`);
  }

  node(name: string): Obj | undefined {
    return this.nodes.get(name);
  }

  /** Answers the next `times` requests matching method and path with an error Status. */
  failNext(method: string, path: RegExp, status: number, reason: string, message = `injected ${reason}`, times = 1): void {
    this.faults.push({ method, path, status, reason, message, remaining: times });
  }

  /** Requests that would change something (everything but GET). */
  mutating(): RecordedKubeRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  private meta(m: Record<string, unknown>): Record<string, unknown> {
    return { ...m, uid: randomUUID(), resourceVersion: String(++this.version), creationTimestamp: new Date().toISOString() };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const text = await readBody(req);
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      return status(res, 400, 'BadRequest', 'the request body is not valid JSON');
    }
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), contentType, body });

    if (req.headers.authorization !== `Bearer ${this.options.token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    const route = ROUTES.find((r) => r.pattern.test(url.pathname));
    if (!route) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const verb = route.verbs[method];
    if (!verb) return status(res, 405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    const m = route.pattern.exec(url.pathname)!;
    const namespace = route.resource === 'nodes' ? undefined : url.pathname.startsWith('/api/v1/pods') ? undefined : m[1];
    const name = route.resource === 'nodes' ? m[1] : m[2];
    if (!this.allowed(route, verb)) {
      const where = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
      return status(res, 403, 'Forbidden', `${route.resource}${name ? ` "${name}"` : ''} is forbidden: User "${this.options.user ?? 'system:serviceaccount:lanner:lanner'}" cannot ${verb} resource "${route.resource}" in API group "${route.group}"${where}`);
    }
    const fault = this.faults.find((f) => f.remaining > 0 && f.method === method && f.path.test(url.pathname));
    if (fault) {
      fault.remaining--;
      return status(res, fault.status, fault.reason, fault.message);
    }
    if (method === 'PATCH' && !PATCH_TYPES.includes(contentType ?? '')) {
      return status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`);
    }
    if ((method === 'POST' || method === 'PATCH') && (typeof body !== 'object' || body === null)) {
      return status(res, 400, 'BadRequest', 'the request needs a JSON object body');
    }
    switch (route.resource) {
      case 'pods':
        return this.podsRoute(res, method, verb, namespace, name, url.searchParams, body as Obj | undefined);
      case 'networkpolicies':
        return this.policiesRoute(res, method, namespace!, name, body as Obj);
      case 'events':
        return this.eventsRoute(res, namespace!, body as Obj);
      case 'nodes':
        return this.nodesRoute(res, method, verb, name, url.searchParams, body as Obj);
    }
  }

  private allowed(route: Route, verb: string): boolean {
    const rules = this.options.rbac;
    if (!rules) return true;
    return rules.some((r) => r.apiGroups.includes(route.group) && r.resources.includes(route.resource) && (r.verbs.includes(verb) || r.verbs.includes('*')));
  }

  private podsRoute(res: ServerResponse, method: string, verb: string, namespace: string | undefined, name: string | undefined, query: URLSearchParams, body: Obj | undefined): void {
    if (verb === 'list') {
      const items = [...this.pods.values()].filter((p) => (namespace === undefined || p.metadata['namespace'] === namespace) && selects(p, query));
      return json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.version) }, items });
    }
    const key = `${namespace}/${name}`;
    const pod = this.pods.get(key);
    if (!pod) return status(res, 404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
    if (method === 'GET') return json(res, 200, pod);
    if (method === 'DELETE') {
      this.pods.delete(key);
      return json(res, 200, { ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date().toISOString() } });
    }
    const patch = body as Record<string, unknown>;
    const merged = mergePatch(pod, patch) as Obj;
    merged.metadata['resourceVersion'] = String(++this.version);
    this.pods.set(key, merged);
    return json(res, 200, merged);
  }

  private policiesRoute(res: ServerResponse, method: string, namespace: string, name: string | undefined, body: Obj): void {
    if (method === 'POST') {
      const meta = (body.metadata ?? {}) as Record<string, unknown>;
      const n = meta['name'];
      if (typeof n !== 'string' || n === '') return status(res, 422, 'Invalid', 'NetworkPolicy.networking.k8s.io "" is invalid: metadata.name: Required value: name or generateName is required');
      if (meta['namespace'] !== undefined && meta['namespace'] !== namespace) {
        return status(res, 400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      const spec = body['spec'] as Record<string, unknown> | undefined;
      if (!spec || typeof spec['podSelector'] !== 'object') return status(res, 422, 'Invalid', `NetworkPolicy.networking.k8s.io "${n}" is invalid: spec.podSelector: Required value`);
      const key = `${namespace}/${n}`;
      if (this.policies.has(key)) return status(res, 409, 'AlreadyExists', `networkpolicies.networking.k8s.io "${n}" already exists`, { name: n, group: 'networking.k8s.io', kind: 'networkpolicies' });
      const stored: Obj = { ...body, apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: this.meta({ ...meta, namespace }) };
      this.policies.set(key, stored);
      return json(res, 201, stored);
    }
    const key = `${namespace}/${name}`;
    const policy = this.policies.get(key);
    if (!policy) return status(res, 404, 'NotFound', `networkpolicies.networking.k8s.io "${name}" not found`, { name, group: 'networking.k8s.io', kind: 'networkpolicies' });
    if (method === 'GET') return json(res, 200, policy);
    const merged = mergePatch(policy, body) as Obj;
    merged.metadata['resourceVersion'] = String(++this.version);
    this.policies.set(key, merged);
    return json(res, 200, merged);
  }

  private eventsRoute(res: ServerResponse, namespace: string, body: Obj): void {
    const meta = (body.metadata ?? {}) as Record<string, unknown>;
    const involved = body['involvedObject'] as Record<string, unknown> | undefined;
    if (typeof meta['name'] !== 'string' && typeof meta['generateName'] !== 'string') {
      return status(res, 422, 'Invalid', 'Event "" is invalid: metadata.name: Required value: name or generateName is required');
    }
    if (!involved || typeof involved['name'] !== 'string') return status(res, 422, 'Invalid', 'Event is invalid: involvedObject: Required value');
    if (involved['namespace'] !== undefined && involved['namespace'] !== namespace) {
      return status(res, 422, 'Invalid', `Event is invalid: involvedObject.namespace: Invalid value: "${String(involved['namespace'])}": does not match event.namespace`);
    }
    const name = typeof meta['name'] === 'string' ? meta['name'] : `${String(meta['generateName'])}${randomUUID().slice(0, 8)}`;
    const stored: Obj = { ...body, metadata: this.meta({ ...meta, name, namespace }) };
    this.events.push(stored);
    return json(res, 201, stored);
  }

  private nodesRoute(res: ServerResponse, method: string, verb: string, name: string | undefined, query: URLSearchParams, body: Obj): void {
    if (verb === 'list') {
      const items = [...this.nodes.values()].filter((n) => selects(n, query));
      return json(res, 200, { kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: String(this.version) }, items });
    }
    const node = this.nodes.get(name!);
    if (!node) return status(res, 404, 'NotFound', `nodes "${name}" not found`, { name, kind: 'nodes' });
    if (method === 'GET') return json(res, 200, node);
    const merged = mergePatch(node, body) as Obj;
    merged.metadata['resourceVersion'] = String(++this.version);
    this.nodes.set(name!, merged);
    return json(res, 200, merged);
  }
}

/** RFC 7386 merge; for maps and scalars, strategic merge patch does the same. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Label and field selectors of the forms the responders use: k=v, k!=v, k. */
function selects(obj: Obj, query: URLSearchParams): boolean {
  const labels = (obj.metadata['labels'] ?? {}) as Record<string, string>;
  for (const term of (query.get('labelSelector') ?? '').split(',').filter(Boolean)) {
    const [k, op, v] = splitTerm(term);
    if (op === '=' ? labels[k] !== v : op === '!=' ? labels[k] === v : labels[k] === undefined) return false;
  }
  for (const term of (query.get('fieldSelector') ?? '').split(',').filter(Boolean)) {
    const [k, op, v] = splitTerm(term);
    const actual = String(k.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], obj) ?? (k === 'spec.unschedulable' ? 'false' : ''));
    if (op === '=' ? actual !== v : actual === v) return false;
  }
  return true;
}

function splitTerm(term: string): [string, '=' | '!=' | 'exists', string] {
  const ne = term.indexOf('!=');
  if (ne >= 0) return [term.slice(0, ne), '!=', term.slice(ne + 2)];
  const eq = term.indexOf('=');
  if (eq >= 0) return [term.slice(0, eq), '=', term.slice(eq + (term[eq + 1] === '=' ? 2 : 1))];
  return [term, 'exists', ''];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
}
