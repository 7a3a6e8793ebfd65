// The CLI reaches a pod's runtime through the API server's pod proxy, authenticated as the
// kubeconfig says: client certificates (kind), a bearer token (EKS, refreshed by the kubeconfig's
// own machinery). The global fetch can take neither a client certificate nor a private CA, so a
// pod's Endpoint carries undici's fetch with an agent that holds them.
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';
import { podProxyEndpoint, type Endpoint } from '../../runtime/client.js';
import { containerPort } from '../image/context.js';

export type PodEndpoint = (namespace: string, pod: string) => Endpoint;

interface Tls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
}

/** Endpoints for pods of the kubeconfig's current cluster, at the runtime's port. */
export function podProxy(kc: KubeConfig): PodEndpoint {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no current cluster');
  let agent: { key: string; agent: Agent } | undefined;
  const send = (async (url: string, init: RequestInit = {}) => {
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
  return (namespace, pod) => ({ ...podProxyEndpoint({ server, namespace, pod, port: containerPort }), fetch: send });
}
