// The CLI reaches the API server itself for what client-node's typed calls do not cover: a pod's
// runtime through the pod proxy, and a pod's log as a stream. It authenticates as the kubeconfig
// says: client certificates (kind), a bearer token (EKS, renewed by the kubeconfig's own
// machinery). The global fetch can take neither a client certificate nor a private CA, so this
// is undici's fetch with an agent that holds them.
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';
import { podProxyEndpoint, type Endpoint } from '../../runtime/client.js';
import { containerPort } from '../../runtime/settings.js';

export type PodEndpoint = (namespace: string, pod: string) => Endpoint;

interface Tls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
}

/** The API server of the kubeconfig's current cluster. */
export function apiServer(kc: KubeConfig): string {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no current cluster');
  return server.replace(/\/$/, '');
}

/** fetch, authenticated to the kubeconfig's API server. */
export function kubeFetch(kc: KubeConfig): typeof fetch {
  let agent: { key: string; agent: Agent } | undefined;
  return (async (url: string, init: RequestInit = {}) => {
    // Asked for on every request: a token from an exec plugin expires, and the kubeconfig renews it.
    const options: Tls & { headers?: Record<string, string | string[] | number | undefined> } = { headers: {} };
    await kc.applyToHTTPSOptions(options);
    const tls: Tls = { ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.rejectUnauthorized };
    const key = JSON.stringify(tls);
    if (agent?.key !== key) {
      void agent?.agent.close();
      agent = { key, agent: new Agent({ connect: tls }) };
    }
    const auth = Object.fromEntries(Object.entries(options.headers ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])));
    const headers = { ...auth, ...(init.headers as Record<string, string> | undefined) };
    return undiciFetch(url, { ...(init as UndiciRequestInit), headers, dispatcher: agent.agent });
  }) as unknown as typeof fetch;
}

/** Endpoints for pods of the kubeconfig's current cluster, at the runtime's port, through the pod proxy. */
export function podProxy(kc: KubeConfig, send: typeof fetch = kubeFetch(kc)): PodEndpoint {
  const server = apiServer(kc);
  return (namespace, pod) => ({ ...podProxyEndpoint({ server, namespace, pod, port: containerPort }), fetch: send });
}
