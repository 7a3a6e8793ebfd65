// eksctl for the tests: built by test/cloud/build-eksctl.sh (from the Go module proxy, cached
// under ~/.cache/cortex-eksctl), or CORTEX_EKSCTL, or eksctl on PATH. Tests that need it are
// registered as skipped, with the reason, when there is none; CORTEX_EKSCTL_TESTS=required makes
// them run regardless (and fail). Its dry run needs AWS (STS, EC2): moto stands in, and a stub
// answers the one EKS call moto lacks (DescribeClusterVersions).
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { homedir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { motoAvailable } from './moto.js';

function cachedBuild(): string | undefined {
  const cache = process.env.CORTEX_EKSCTL_CACHE ?? path.join(homedir(), '.cache', 'cortex-eksctl');
  if (!existsSync(cache)) return undefined;
  for (const key of readdirSync(cache)) {
    const binary = path.join(cache, key, 'eksctl');
    if (existsSync(path.join(cache, key, '.done')) && existsSync(binary)) return binary;
  }
  return undefined;
}

async function onPath(): Promise<string | undefined> {
  try {
    const { stdout } = await execa('sh', ['-c', 'command -v eksctl'], { reject: false });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export const eksctlBinary: string | undefined = process.env.CORTEX_EKSCTL ?? cachedBuild() ?? (await onPath());

function unavailableReason(): string | undefined {
  if (!eksctlBinary) return 'no eksctl binary (build it with test/cloud/build-eksctl.sh, or set CORTEX_EKSCTL)';
  if (!motoAvailable) return "eksctl's dry run needs moto_server for STS and EC2 (pip install 'moto[server]')";
  return undefined;
}

const unavailable = process.env.CORTEX_EKSCTL_TESTS === 'required' ? undefined : unavailableReason();
if (unavailable) console.log(`eksctl tests skipped: ${unavailable}`);
export const eksctlAvailable = unavailable === undefined;

type Implementation = (t: ExecutionContext) => Promise<void> | void;

export const eksctlTest: (title: string, implementation: Implementation) => void = unavailable
  ? (title, implementation) => test.serial.skip(title, implementation)
  : (title, implementation) => test.serial(title, implementation);

export interface EksStub {
  endpoint: string;
  /** Requests it was asked that it does not answer ("METHOD path"). */
  unanswered: string[];
  stop(): Promise<void>;
}

/** The EKS API as far as `eksctl create cluster --dry-run` uses it: the list of cluster versions. */
export async function startEksStub(versions: { default: string; supported: string[] }): Promise<EksStub> {
  const unanswered: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://stub');
    if (request.method === 'GET' && url.pathname === '/cluster-versions') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({
        clusterVersions: versions.supported.map((v) => ({
          clusterVersion: v,
          clusterType: 'eks',
          defaultPlatformVersion: 'eks.1',
          defaultVersion: v === versions.default,
          status: 'STANDARD_SUPPORT',
          versionStatus: 'STANDARD_SUPPORT',
          kubernetesPatchVersion: `${v}.0`,
        })),
      }));
      return;
    }
    unanswered.push(`${request.method} ${url.pathname}`);
    response.writeHead(501, { 'content-type': 'application/json', 'x-amzn-errortype': 'NotImplemented' });
    response.end(JSON.stringify({ message: `the test stub does not answer ${request.method} ${url.pathname}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    unanswered,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
