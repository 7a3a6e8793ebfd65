// Kubernetes access to EKS without the aws CLI: @kubernetes/client-node sends the signed EKS
// token as its bearer token (checked on a local API server stand-in), EksAccess renews it before
// it expires, and the kubeconfig for people runs `cortex cloud token`.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import test from 'ava';
import { execa } from 'execa';
import { parse } from 'yaml';
import type { AwsClients, ClusterEndpoint } from '../src/cloud/aws.js';
import { decodeEksToken } from '../src/cloud/eks-token.js';
import { EksAccess, eksKubeConfig, execKubeconfigYaml } from '../src/cloud/kubeconfig.js';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nnot a real one\n-----END CERTIFICATE-----\n').toString('base64');
const cluster = (endpoint: string): ClusterEndpoint => ({
  name: 'vision', endpoint, certificateAuthority: CA, status: 'ACTIVE', version: '1.32', arn: 'arn:aws:eks:us-west-2:123456789012:cluster/vision',
});

test('client-node calls the API server with the EKS token as its bearer token, trusting the cluster CA', async (t) => {
  // A self-signed certificate for 127.0.0.1 plays the cluster CA that DescribeCluster returns (base64 PEM).
  const dir = await mkdtemp(path.join(tmpdir(), 'cortex-kubeconfig-'));
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const cert = await readFile(path.join(dir, 'cert.pem'));
  const seen: string[] = [];
  const server = createServer({ cert, key: await readFile(path.join(dir, 'key.pem')) }, (request, response) => {
    seen.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'cortex' } }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    const kc = eksKubeConfig({ ...cluster(`https://127.0.0.1:${port}`), certificateAuthority: cert.toString('base64') }, 'k8s-aws-v1.abc');
    const list = await kc.makeApiClient(CoreV1Api).listNamespace();
    t.is(list.items[0]?.metadata?.name, 'cortex');
    t.deepEqual(seen, ['GET /api/v1/namespaces Bearer k8s-aws-v1.abc']);
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('EksAccess describes the cluster once and renews the token a minute before it runs out', async (t) => {
  let describes = 0;
  let now = new Date('2026-12-01T12:00:00Z');
  const clients = {
    region: 'us-west-2',
    eks: { send: async () => { describes += 1; return { cluster: { endpoint: 'https://x.eks.amazonaws.com', certificateAuthority: { data: CA }, status: 'ACTIVE' } }; } },
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
  } as unknown as AwsClients;
  const access = new EksAccess(clients, 'vision', { now: () => now, namespace: 'cortex' });
  const first = await access.kubeConfig();
  const signedAt = (kc: typeof first) => decodeEksToken(kc.getCurrentUser()?.token ?? '').searchParams.get('X-Amz-Date');
  t.is(signedAt(first), '20261201T120000Z');
  t.is(first.getContextObject(first.getCurrentContext())?.namespace, 'cortex');
  now = new Date('2026-12-01T12:12:59Z');
  t.is(await access.kubeConfig(), first, 'still more than a minute left: the same config');
  now = new Date('2026-12-01T12:13:30Z');
  const renewed = await access.kubeConfig();
  t.not(renewed, first);
  t.is(signedAt(renewed), '20261201T121330Z');
  t.is(describes, 1);
});

test('the kubeconfig for kubectl runs `cortex cloud token` for the cluster', (t) => {
  const config = parse(execKubeconfigYaml(cluster('https://x.eks.amazonaws.com'), 'us-west-2')) as Record<string, any>;
  t.is(config['current-context'], 'arn:aws:eks:us-west-2:123456789012:cluster/vision');
  t.deepEqual(config.clusters[0].cluster, { server: 'https://x.eks.amazonaws.com', 'certificate-authority-data': CA });
  t.deepEqual(config.users[0].user.exec, {
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    command: 'cortex',
    args: ['cloud', 'token', '--cluster', 'vision', '--region', 'us-west-2'],
    interactiveMode: 'Never',
    provideClusterInfo: false,
  });
});
