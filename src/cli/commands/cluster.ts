import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { cacheDirFrom } from '../../../runtime/settings.js';
import { UserError } from '../../user-error.js';
import { clusterInfo } from '../../kube/info.js';
import { clusterDown, clusterUp, defaultClusterName, gatewayHostPort, kindKubeConfig } from '../../kube/kind.js';
import { parsePort } from '../options.js';

// With --cloud the same three verbs manage an EKS cluster (src/cloud), from Cortex's cluster.yaml.
const cloud = () => import('./cloud.js');
// kind takes no cluster.yaml: a file given without --cloud is a mistake worth one line.
function kindOnly(file: string | undefined): void {
  if (file) throw new UserError(`${file}: a cluster.yaml describes an EKS cluster; add --cloud (without it, cortex cluster manages a local kind cluster)`);
}

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('the local kind cluster cortex runs on, or with --cloud an EKS cluster');

  cluster
    .command('up')
    .description('create a kind cluster for cortex (or reuse it): the gateway on localhost:PORT, the model cache and mirror shared with pods')
    .option('--name <name>', 'kind cluster name', defaultClusterName)
    .option('-p, --port <port>', 'host port of the gateway', parsePort, 8888)
    .argument('[cluster.yaml]', 'with --cloud: the EKS cluster config (default ./cluster.yaml, else the defaults)')
    .option('--image <image>', "kind's node image (default: the one kind chooses)")
    .option('--cloud', 'an EKS cluster with CPU and GPU node groups, created with eksctl')
    .option('--dry-run', 'with --cloud: print what would be created; needs no credentials')
    .action(async (file: string | undefined, opts: { name: string; port: number; image?: string; cloud?: boolean; dryRun?: boolean }) => {
      if (opts.cloud) return (await cloud()).cloudClusterUp(file, { dryRun: opts.dryRun });
      kindOnly(file);
      const cacheDir = resolve(cacheDirFrom(process.env));
      mkdirSync(cacheDir, { recursive: true });
      const mirrorDir = process.env.CORTEX_MODEL_MIRROR ? resolve(process.env.CORTEX_MODEL_MIRROR) : undefined;
      const started = Date.now();
      const up = await clusterUp({ name: opts.name, hostPort: opts.port, cacheDir, ...(mirrorDir ? { mirrorDir } : {}), ...(opts.image ? { image: opts.image } : {}), onLine: (line) => console.log(`  ${line}`) });
      const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
      console.log(up.created ? `kind cluster "${opts.name}" created in ${took}; the gateway will answer on ${up.endpoint}` : `kind cluster "${opts.name}" is up (reused); the gateway answers on ${up.endpoint}`);
    });

  cluster
    .command('down')
    .description('delete the kind cluster (everything cortex ran there goes with it)')
    .option('--name <name>', 'kind cluster name', defaultClusterName)
    .argument('[cluster.yaml]', 'with --cloud: the EKS cluster config')
    .option('--cloud', 'the EKS cluster')
    .option('--dry-run', 'with --cloud: print what would be deleted')
    .action(async (file: string | undefined, opts: { name: string; cloud?: boolean; dryRun?: boolean }) => {
      if (opts.cloud) return (await cloud()).cloudClusterDown(file, { dryRun: opts.dryRun });
      kindOnly(file);
      console.log((await clusterDown(opts.name)) ? `kind cluster "${opts.name}" deleted` : `no kind cluster named "${opts.name}"; nothing to delete`);
    });

  cluster
    .command('info')
    .description("the cluster's nodes, Kubernetes version, gateway endpoint, and what cortex runs there: gateway, autoscaler, apis")
    .option('--name <name>', 'kind cluster name', defaultClusterName)
    .argument('[cluster.yaml]', 'with --cloud: the EKS cluster config')
    .option('--cloud', 'the EKS cluster')
    .action(async (file: string | undefined, opts: { name: string; cloud?: boolean }) => {
      if (opts.cloud) return (await cloud()).cloudClusterInfo(file);
      kindOnly(file);
      const info = await clusterInfo(await kindKubeConfig(opts.name));
      const port = await gatewayHostPort(opts.name);
      console.log(`kind cluster "${opts.name}": Kubernetes ${info.version}, API server ${info.server}`);
      console.log(`gateway: ${port ? `http://localhost:${port}` : 'not published (recreate with cortex cluster up)'}`);
      for (const n of info.nodes) console.log(`node ${n.name}: ${n.ready ? 'Ready' : 'NotReady'}, kubelet ${n.kubelet}${n.gpus ? `, ${n.gpus} GPU` : ''}`);
      for (const c of info.components) console.log(`${c.component} (namespace ${c.namespace}): ${c.ready}/${c.desired} ready`);
      if (info.apis.length === 0) console.log('apis: none (cortex dev --backend kind deploys them)');
      for (const a of info.apis) console.log(`api ${a.deployment}/${a.api} (namespace ${a.namespace}): ${a.ready}/${a.desired} ready`);
    });
}
