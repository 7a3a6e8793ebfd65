// The EKS target `cortex deploy --cloud` builds from cluster.yaml, against moto's server (STS, ECR,
// EKS) and a real local registry (Debian's docker-registry) that takes the very login moto's ECR
// hands out (AWS:<account>-auth-token), standing in for ECR's registry: the repository is created
// on first use, the runtime image is pushed under its content tag with ECR's token, and pushed
// again every layer is already there. The kubeconfig comes from EKS DescribeCluster and a signed
// token, no aws CLI.
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import Docker from 'dockerode';
import test from 'ava';
import { awsClients, type AwsClients } from '../src/cloud/aws.js';
import { defaultClusterConfig } from '../src/cloud/cluster-config.js';
import { decodeEksToken } from '../src/cloud/eks-token.js';
import { EcrImages, eksTarget, runtimeRepositoryName } from '../src/cloud/target.js';
import type { PushEvent } from '../src/cloud/push.js';
import { ensureRuntimeImage } from '../src/image/index.js';
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, motoAvailable, startMoto, type Moto } from './helpers/moto.js';
import { registryAvailable, startRegistry, type LocalRegistry } from './helpers/registry.js';

const REGION = 'us-east-1';
let moto: Moto | undefined;
let registry: LocalRegistry | undefined;
let clients: AwsClients | undefined;
const pushed: string[] = [];

if (motoAvailable) {
  test.before(async () => {
    moto = await startMoto();
    clients = awsClients({ region: REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS });
    // moto's ECR login is AWS:<account>-auth-token (moto/ecr/responses.py): the local registry takes the same.
    if (registryAvailable) registry = await startRegistry('AWS', `${MOTO_ACCOUNT}-auth-token`);
  });
  test.after.always(async () => {
    for (const tag of pushed) await new Docker().getImage(tag).remove({ noprune: true }).catch(() => {});
    clients?.destroy();
    await registry?.stop();
    await moto?.stop();
  });
}

const both = motoAvailable && registryAvailable ? test.serial : test.serial.skip;
const motoOnly = motoAvailable ? test.serial : test.serial.skip;

motoOnly('the EKS target: the cluster of cluster.yaml in namespace cortex, eks profile with its load balancer, ECR images, a kubeconfig with a signed token', async (t) => {
  await clients!.eks.send(new CreateClusterCommand({ name: 'cortex', roleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/eks`, resourcesVpcConfig: { subnetIds: [] } }));
  const target = eksTarget(defaultClusterConfig(), { endpoint: moto!.endpoint, credentials: MOTO_CREDENTIALS });
  try {
    t.is(target.description, 'EKS cluster "cortex" in us-east-1');
    t.is(target.namespace, 'cortex');
    t.is(target.profile.name, 'eks');
    t.deepEqual(target.profile.gateway, { type: 'LoadBalancer', annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } });
    const kc = await target.kubeConfig();
    t.regex(kc.getCurrentCluster()!.server, /^https:\/\//);
    const token = kc.getCurrentUser()!.token!;
    t.true(token.startsWith('k8s-aws-v1.'));
    t.regex(decodeEksToken(token).href, /^https:\/\/sts\.us-east-1\.amazonaws\.com\/\?Action=GetCallerIdentity/);
    t.is(kc.getContextObject(kc.getCurrentContext())?.namespace, 'cortex');
    t.is(await target.images.reference('cortex-runtime:0123456789ab', 'cuda'), `${MOTO_ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${runtimeRepositoryName(defaultClusterConfig())}:cuda-0123456789ab`);
  } finally {
    target.close();
  }
});

both('ECR images: the repository made on first use; the runtime pushed with ECR\'s login under its content tag; pushed again, nothing is sent', async (t) => {
  t.timeout(10 * 60_000, 'a cold runtime image build comes first where no earlier test made it');
  const images = new EcrImages(clients!, 'vision/cortex-runtime', { registry: registry!.host });
  t.is(await images.describe(), `ECR ${registry!.host}/vision/cortex-runtime`);
  const made = await clients!.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['vision/cortex-runtime'] }));
  t.is(made.repositories?.[0]?.repositoryName, 'vision/cortex-runtime', 'created in ECR (moto)');

  const image = await ensureRuntimeImage();
  const reference = await images.reference(image.tag, 'cpu');
  t.is(reference, `${registry!.host}/vision/cortex-runtime:${image.tag.split(':')[1]}`);
  const events: PushEvent[] = [];
  const first = await images.publish(image.tag, reference, (e) => events.push(e));
  pushed.push(reference);
  t.log(first);
  t.regex(first, /^pushed ([1-9]\d*) of \1 layers|^pushed [1-9]\d* of \d+ layers/);
  t.deepEqual(events[0], { type: 'login', registry: registry!.host });
  t.true(events.some((e) => e.type === 'bytes'));
  const second = await images.publish(image.tag, reference);
  t.log(second);
  t.regex(second, /^pushed 0 of (\d+) layers \(0\.0 MB\), \1 already there/);
});
