// The AWS SDK calls of src/cloud against moto's server (STS, ECR, EKS), and the EKS token: its
// exact format, its SigV4 signature recomputed here independently, and the URL answered by STS.
import { createHash, createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import test from 'ava';
import { execa } from 'execa';
import { AwsError, awsClients, callerIdentity, decodeRegistryToken, describeCluster, ensureRepository, explain, registryLogin, type AwsClients } from '../src/cloud/aws.js';
import { decodeEksToken, eksToken } from '../src/cloud/eks-token.js';
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, motoAvailable, motoTest, startMoto, type Moto } from './helpers/moto.js';

const REGION = 'us-west-2';
let moto: Moto | undefined;
let clients: AwsClients | undefined;
const aws = (): AwsClients => {
  if (!clients) throw new Error('moto did not start');
  return clients;
};

if (motoAvailable) {
  test.before(async () => {
    moto = await startMoto();
    clients = awsClients({ region: REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
  });
  test.after.always(async () => {
    clients?.destroy();
    await moto?.stop();
  });
}

motoTest('STS GetCallerIdentity names the account', async (t) => {
  const identity = await callerIdentity(aws());
  t.is(identity.account, MOTO_ACCOUNT);
  t.regex(identity.arn, /^arn:aws:(sts|iam)::123456789012:/);
});

motoTest('ECR GetAuthorizationToken gives a registry host and a basic-auth login', async (t) => {
  const login = await registryLogin(aws());
  t.regex(login.registry, /^123456789012\.dkr\.ecr\.us-west-2\.amazonaws\.com$/);
  t.is(login.username, 'AWS');
  t.true(login.password.length > 0);
  t.deepEqual(decodeRegistryToken(login.token), { username: login.username, password: login.password });
});

motoTest('ensureRepository creates the repository once, then finds it', async (t) => {
  const first = await ensureRepository(aws(), 'cortex/runtime', { 'cortex.dev/cluster': 'test' });
  t.true(first.created);
  t.is(first.uri, `${MOTO_ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/cortex/runtime`);
  const second = await ensureRepository(aws(), 'cortex/runtime');
  t.deepEqual(second, { ...first, created: false });
  // Two deploys at once: both end up with the one repository.
  const both = await Promise.all([ensureRepository(aws(), 'cortex/both'), ensureRepository(aws(), 'cortex/both')]);
  t.is(both[0].uri, both[1].uri);
});

motoTest('EKS DescribeCluster gives the endpoint and CA; a missing cluster is one line naming the fix', async (t) => {
  await aws().eks.send(new CreateClusterCommand({
    name: 'vision',
    roleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/eks`,
    resourcesVpcConfig: { subnetIds: [] },
  }));
  const cluster = await describeCluster(aws(), 'vision');
  t.regex(cluster.endpoint, /^https:\/\//);
  t.true(cluster.certificateAuthority.length > 0);
  t.is(cluster.name, 'vision');
  const error = await t.throwsAsync(describeCluster(aws(), 'nope'), { instanceOf: AwsError });
  t.is(error.message, `EKS cluster "nope" does not exist in ${REGION}; create it with \`cortex cluster up --cloud\`, or set cluster_name and region in cluster.yaml`);
});

// The token checks below need no server.
const FIXED = new Date('2026-12-01T12:00:00Z');
const CREDS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session/token+1=' };

test('the EKS token is k8s-aws-v1. + unpadded base64url of a presigned STS GetCallerIdentity URL', async (t) => {
  const { token, expiresAt } = await eksToken({ clusterName: 'vision', region: 'eu-central-1', credentials: CREDS, signingDate: FIXED });
  t.true(token.startsWith('k8s-aws-v1.'));
  const body = token.slice('k8s-aws-v1.'.length);
  t.regex(body, /^[A-Za-z0-9_-]+$/, 'base64url alphabet, no padding');
  const url = Buffer.from(body, 'base64url').toString('utf8');
  t.true(url.startsWith('https://sts.eu-central-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-'), url);
  const parsed = decodeEksToken(token);
  const q = parsed.searchParams;
  t.is(q.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
  t.is(q.get('X-Amz-Credential'), 'AKIDEXAMPLE/20261201/eu-central-1/sts/aws4_request');
  t.is(q.get('X-Amz-Date'), '20261201T120000Z');
  t.is(q.get('X-Amz-Expires'), '60');
  t.is(q.get('X-Amz-Security-Token'), CREDS.sessionToken);
  t.is(q.get('X-Amz-SignedHeaders'), 'host;x-k8s-aws-id');
  t.regex(q.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
  t.is(expiresAt.toISOString(), '2026-12-01T12:14:00.000Z');
  // The same inputs sign the same way; another cluster name signs differently (the header is signed).
  t.is((await eksToken({ clusterName: 'vision', region: 'eu-central-1', credentials: CREDS, signingDate: FIXED })).token, token);
  const other = decodeEksToken((await eksToken({ clusterName: 'other', region: 'eu-central-1', credentials: CREDS, signingDate: FIXED })).token);
  t.not(other.searchParams.get('X-Amz-Signature'), q.get('X-Amz-Signature'));
});

/** SigV4 for a presigned GET, written out from AWS's documentation, to check the SDK's signer. */
function expectedSignature(url: URL, clusterName: string, secret: string): string {
  const q = url.searchParams;
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...q.entries()].filter(([k]) => k !== 'X-Amz-Signature').map(([k, v]) => [enc(k), enc(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
  const canonical = ['GET', '/', query, `host:${url.host}`, `x-k8s-aws-id:${clusterName}`, '', 'host;x-k8s-aws-id',
    createHash('sha256').update('').digest('hex')].join('\n');
  const [, date, region, service] = (q.get('X-Amz-Credential') ?? '').split('/');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', q.get('X-Amz-Date'), scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex');
}

test('the EKS token carries a valid SigV4 signature over host and x-k8s-aws-id', async (t) => {
  const { token } = await eksToken({ clusterName: 'vision', region: 'us-east-1', credentials: CREDS, signingDate: FIXED });
  const url = decodeEksToken(token);
  t.is(url.searchParams.get('X-Amz-Signature'), expectedSignature(url, 'vision', CREDS.secretAccessKey));
  t.not(url.searchParams.get('X-Amz-Signature'), expectedSignature(url, 'other', CREDS.secretAccessKey));
});

// moto's server cannot replay the URL (it routes a request without an Authorization header by
// its body, and a presigned GET has none), so AWS's own Python SDK signs the same request, the way
// `aws eks get-token` does, and the signatures must agree. botocore comes with moto.
motoTest('botocore (aws eks get-token\'s signer) signs the same URL with the same signature', async (t) => {
  const creds = { ...CREDS, secretAccessKey: 'another/secret+key' };
  const { token } = await eksToken({ clusterName: 'vision', region: REGION, credentials: creds, signingDate: FIXED });
  const ours = decodeEksToken(token);
  const script = fileURLToPath(new URL('../../test/cloud/botocore-presign.py', import.meta.url));
  const { stdout } = await execa('python3', [script, 'vision', REGION, creds.accessKeyId, creds.secretAccessKey, creds.sessionToken, '20261201T120000Z']);
  const theirs = new URL(stdout.trim());
  t.is(theirs.host, ours.host);
  const sorted = (u: URL) => [...u.searchParams.entries()].sort(([a], [b]) => a.localeCompare(b));
  t.deepEqual(sorted(ours), sorted(theirs));
});

test('AWS errors people can fix read as one line with the fix', (t) => {
  const missing = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
  t.is(explain(missing, 'logging in to ECR').message, 'logging in to ECR: no AWS credentials found; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or log in with `aws sso login`');
  t.true(explain(missing, 'x') instanceof AwsError);
  const refused = Object.assign(new Error('The security token included in the request is invalid.'), { name: 'InvalidClientTokenId' });
  t.is(explain(refused, 'checking AWS credentials').message, 'checking AWS credentials: AWS refused the credentials (InvalidClientTokenId: The security token included in the request is invalid.); set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or log in with `aws sso login`');
  const other = explain(Object.assign(new Error('boom'), { name: 'ThrottlingException' }), 'describing');
  t.false(other instanceof AwsError, 'not the user\'s to fix: a plain error with its cause');
  t.is(other.message, 'describing: ThrottlingException: boom');
});
