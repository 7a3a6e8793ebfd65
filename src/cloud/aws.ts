// The AWS calls `cortex deploy --cloud` and `cluster info --cloud` make, through the AWS SDK v3
// (no aws CLI): who am I (STS), a registry login and a repository (ECR), the cluster's endpoint
// and CA (EKS). Credentials and region come from the SDK's usual chain (environment, profile,
// SSO, instance role); `endpoint` points every client at one URL, which is how the tests use moto.
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { DescribeClusterCommand, EKSClient, ResourceNotFoundException, type Cluster } from '@aws-sdk/client-eks';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { UserError } from '../user-error.js';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface AwsOptions {
  region: string;
  /** One endpoint for every service (moto in the tests); AWS's own endpoints when absent. */
  endpoint?: string | undefined;
  /** Fixed credentials; the SDK's default chain when absent. */
  credentials?: Credentials | undefined;
}

export interface AwsClients {
  region: string;
  sts: STSClient;
  ecr: ECRClient;
  eks: EKSClient;
  /** The credentials the clients sign with, resolved once (for the EKS token). */
  credentials(): Promise<Credentials>;
  destroy(): void;
}

/** An AWS problem the user can fix (credentials, a missing cluster): one line, exit code 2. */
export class AwsError extends UserError {
  override name = 'AwsError';
}

export function awsClients(options: AwsOptions): AwsClients {
  // The SDK warns on Node 20 that its releases from 2027 on need Node 22: a note for cortex's
  // maintainers (who pin the SDK), not something a user of `--cloud` can act on.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config = {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 3,
  };
  const sts = new STSClient(config);
  const ecr = new ECRClient(config);
  const eks = new EKSClient(config);
  return {
    region: options.region,
    sts,
    ecr,
    eks,
    async credentials() {
      try {
        return await sts.config.credentials();
      } catch (error) {
        throw explain(error, 'reading AWS credentials');
      }
    },
    destroy() {
      sts.destroy();
      ecr.destroy();
      eks.destroy();
    },
  };
}

const CREDENTIALS_HINT = 'set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or log in with `aws sso login`';

/** Turns an SDK error into one line that says what was being done and how to fix it. */
export function explain(error: unknown, doing: string): Error {
  if (error instanceof UserError) return error;
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const message = (e.message ?? String(error)).split('\n')[0];
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message ?? '')) {
    return new AwsError(`${doing}: no AWS credentials found; ${CREDENTIALS_HINT}`);
  }
  if (['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'ExpiredToken', 'ExpiredTokenException'].includes(name)) {
    return new AwsError(`${doing}: AWS refused the credentials (${name}: ${message}); ${CREDENTIALS_HINT}`);
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return new AwsError(`${doing}: access denied (${message}); the IAM identity needs permission for it`);
  }
  const wrapped = new Error(`${doing}: ${name}: ${message}`);
  (wrapped as Error & { cause?: unknown }).cause = error;
  return wrapped;
}

export interface Identity {
  account: string;
  arn: string;
  userId: string;
}

/** STS GetCallerIdentity: the account and principal the credentials belong to. */
export async function callerIdentity(clients: AwsClients): Promise<Identity> {
  try {
    const out = await clients.sts.send(new GetCallerIdentityCommand({}));
    return { account: out.Account ?? '', arn: out.Arn ?? '', userId: out.UserId ?? '' };
  } catch (error) {
    throw explain(error, 'checking AWS credentials (sts:GetCallerIdentity)');
  }
}

export interface RegistryLogin {
  /** The registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com. */
  registry: string;
  /** The base64 "AWS:<password>" token as ECR returns it. */
  token: string;
  username: string;
  password: string;
  expiresAt: Date | undefined;
}

/** Splits an ECR (or any basic-auth) token, base64 of "user:password", into its parts. */
export function decodeRegistryToken(token: string): { username: string; password: string } {
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new Error('the registry token is not base64 of "user:password"');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** ECR GetAuthorizationToken: a 12-hour docker login for the account's registry. */
export async function registryLogin(clients: AwsClients): Promise<RegistryLogin> {
  let out;
  try {
    out = await clients.ecr.send(new GetAuthorizationTokenCommand({}));
  } catch (error) {
    throw explain(error, 'logging in to ECR (ecr:GetAuthorizationToken)');
  }
  const data = out.authorizationData?.[0];
  if (!data?.authorizationToken || !data.proxyEndpoint) throw new Error('ECR returned no authorization data');
  return {
    registry: new URL(data.proxyEndpoint).host,
    token: data.authorizationToken,
    ...decodeRegistryToken(data.authorizationToken),
    expiresAt: data.expiresAt,
  };
}

export interface Repository {
  name: string;
  /** <registry>/<name>, what images are tagged with. */
  uri: string;
  created: boolean;
}

/**
 * The ECR repository `name`, created (tags immutable off: `cortex deploy` moves tags; scan on
 * push on) when it does not exist yet. Safe to call on every deploy, and by two at once.
 */
export async function ensureRepository(clients: AwsClients, name: string, tags: Record<string, string> = {}): Promise<Repository> {
  const doing = `ensuring the ECR repository "${name}"`;
  const existing = async (): Promise<Repository | undefined> => {
    try {
      const out = await clients.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
      const uri = out.repositories?.[0]?.repositoryUri;
      return uri ? { name, uri, created: false } : undefined;
    } catch (error) {
      if (error instanceof RepositoryNotFoundException) return undefined;
      throw explain(error, doing);
    }
  };
  const found = await existing();
  if (found) return found;
  try {
    const out = await clients.ecr.send(new CreateRepositoryCommand({
      repositoryName: name,
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      tags: Object.entries({ 'cortex.dev/managed-by': 'cortex', ...tags }).map(([Key, Value]) => ({ Key, Value })),
    }));
    const uri = out.repository?.repositoryUri;
    if (!uri) throw new Error('ECR created the repository but returned no URI');
    return { name, uri, created: true };
  } catch (error) {
    // Someone else created it between our describe and create.
    if ((error as { name?: string }).name === 'RepositoryAlreadyExistsException') {
      const raced = await existing();
      if (raced) return raced;
    }
    throw explain(error, doing);
  }
}

export interface ClusterEndpoint {
  name: string;
  /** https://…eks.amazonaws.com */
  endpoint: string;
  /** The cluster CA, PEM, base64-encoded as kubeconfig's certificate-authority-data wants it. */
  certificateAuthority: string;
  status: string;
  version: string | undefined;
  arn: string | undefined;
}

/** EKS DescribeCluster's cluster, or undefined when there is no cluster of that name in the region. */
async function findCluster(clients: AwsClients, name: string): Promise<Cluster | undefined> {
  let out;
  try {
    out = await clients.eks.send(new DescribeClusterCommand({ name }));
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw explain(error, `describing the EKS cluster "${name}" (eks:DescribeCluster)`);
  }
  if (!out.cluster) throw new Error(`EKS returned no cluster for "${name}"`);
  return out.cluster;
}

/** The cluster's status (CREATING, ACTIVE, DELETING, FAILED, UPDATING, PENDING), or undefined when there is no such cluster. */
export async function clusterStatus(clients: AwsClients, name: string): Promise<string | undefined> {
  const cluster = await findCluster(clients, name);
  return cluster && (cluster.status ?? 'UNKNOWN');
}

/** EKS DescribeCluster: what a kubeconfig needs, without `aws eks update-kubeconfig`. */
export async function describeCluster(clients: AwsClients, name: string): Promise<ClusterEndpoint> {
  const cluster = await findCluster(clients, name);
  if (!cluster) {
    throw new AwsError(`EKS cluster "${name}" does not exist in ${clients.region}; create it with \`cortex cluster up --cloud\`, or set cluster_name and region in cluster.yaml`);
  }
  const status = cluster.status ?? 'UNKNOWN';
  if (!cluster.endpoint || !cluster.certificateAuthority?.data) {
    throw new AwsError(`EKS cluster "${name}" is ${status} and has no endpoint yet; wait for \`cortex cluster up --cloud\` to finish`);
  }
  return {
    name,
    endpoint: cluster.endpoint,
    certificateAuthority: cluster.certificateAuthority.data,
    status,
    version: cluster.version,
    arn: cluster.arn,
  };
}
