// EKS from the command line. `registerCloud` adds `cortex cloud config|token|kubeconfig|whoami`; the
// `cloudCluster*` functions are what `cortex cluster up|down|info --cloud` dispatch to
// (src/cli/commands/cluster.ts: `if (opts.cloud) return cloudClusterUp(file, opts)`).
import { constants, existsSync } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { execa } from 'execa';
import { awsClients, callerIdentity, clusterStatus, describeCluster, ensureRepository, registryLogin } from '../../cloud/aws.js';
import { CLUSTER_CONFIG_NAMES, defaultClusterConfig, loadClusterConfig, type ClusterConfig } from '../../cloud/cluster-config.js';
import { describeNodeGroups, eksctlConfigYaml } from '../../cloud/eksctl-config.js';
import { eksToken } from '../../cloud/eks-token.js';
import { clusterAutoscalerImage, installClusterAutoscaler, objectNames, renderClusterAutoscaler } from '../../cloud/cluster-autoscaler.js';
import { EksAccess, execKubeconfigYaml } from '../../cloud/kubeconfig.js';
import { defaultNamespace } from '../../kube/names.js';
import { runtimeRepositoryName } from '../../cloud/target.js';
import { UserError } from '../../user-error.js';

export interface CloudIo {
  /** One line of output (stdout). */
  print(line: string): void;
  env: NodeJS.ProcessEnv;
  /** The time eksctl's lines are stamped with and its heartbeat goes by; the system's when absent. */
  clock?: Clock;
}

export interface Clock {
  now(): number;
  /** Calls `tick` every `ms` milliseconds until the function it returns is called. */
  every(ms: number, tick: () => void): () => void;
}

const systemClock: Clock = {
  now: () => Date.now(),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    return () => clearInterval(timer);
  },
};

/** eksctl can say nothing for minutes while CloudFormation works: after this long, a line says it is still going. */
const EKSCTL_QUIET_MS = 30_000;

const defaultIo = (): CloudIo => ({ print: (line) => console.log(line), env: process.env });

const EKSCTL_INSTALL = 'eksctl is not installed: see https://eksctl.io/installation (or set CORTEX_EKSCTL to its path); `cortex cluster up --cloud --dry-run` shows what would be created without it';

/** cluster.yaml as given, else ./cluster.yaml when there is one, else the defaults. */
export async function resolveClusterConfig(file: string | undefined, cwd = process.cwd()): Promise<ClusterConfig> {
  if (file !== undefined) return loadClusterConfig(file);
  const found = CLUSTER_CONFIG_NAMES.map((name) => path.join(cwd, name)).find((candidate) => existsSync(candidate));
  return found ? loadClusterConfig(found) : defaultClusterConfig();
}

export { runtimeRepositoryName };

/** Where `cluster up --cloud` keeps the eksctl file it ran, so `cluster down --cloud` deletes the same cluster. */
export function eksctlFilePath(config: Pick<ClusterConfig, 'clusterName' | 'region'>, env: NodeJS.ProcessEnv = process.env): string {
  const state = env.CORTEX_STATE_DIR ?? path.join(env.HOME ?? homedir(), '.cortex');
  return path.join(state, 'eks', `${config.clusterName}.${config.region}.eksctl.yaml`);
}

async function eksctlPath(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.CORTEX_EKSCTL) return env.CORTEX_EKSCTL;
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'eksctl');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new UserError(EKSCTL_INSTALL);
}

/**
 * Runs eksctl, each line of its output shown with the time since the start (creation takes 15–25
 * minutes), and `still <doing>…` when it has been quiet for 30 s, so a silent terminal never looks hung.
 */
async function runEksctl(args: string[], io: CloudIo, doing: string): Promise<void> {
  const binary = await eksctlPath(io.env);
  const clock = io.clock ?? systemClock;
  const started = clock.now();
  let lastLine = started;
  const say = (line: string) => {
    lastLine = clock.now();
    const s = Math.round((lastLine - started) / 1000);
    io.print(`  [${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s] ${line}`);
  };
  const child = execa(binary, args, { env: io.env, reject: false, all: true, buffer: false });
  const stopHeartbeat = clock.every(1000, () => {
    if (clock.now() - lastLine >= EKSCTL_QUIET_MS) say(`still ${doing}…`);
  });
  let partial = '';
  child.all?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) say(line);
  });
  const result = await child.finally(stopHeartbeat);
  if (partial.trim()) say(partial);
  if (result.exitCode !== 0) throw new UserError(`eksctl ${args.slice(0, 2).join(' ')} failed (exit code ${result.exitCode}); its output is above`);
}

/** The plan: which cluster, which node groups, what else is made and applied; what `--dry-run` and the start of `up` print. */
export function clusterPlan(config: ClusterConfig): string[] {
  return [
    `EKS cluster "${config.clusterName}" in ${config.region}, Kubernetes ${config.kubernetesVersion}${config.file ? ` (from ${config.file})` : ' (cortex defaults; pass a cluster.yaml to change them)'}`,
    ...describeNodeGroups(config).map((line) => `  node group ${line}`),
    // eksctl installs the device plugin along with a GPU node group (--install-nvidia-plugin, on by default): a CPU-only cluster gets none.
    `  ECR repository ${runtimeRepositoryName(config)}; the cluster autoscaler's IAM role through OIDC${config.gpu ? '; the NVIDIA device plugin on the GPU nodes' : ''}`,
    `  cluster autoscaler ${clusterAutoscalerImage(config.kubernetesVersion)}, applied after eksctl: ${objectNames(renderClusterAutoscaler(config)).join(', ')}`,
  ];
}

/**
 * Whether `cluster up --cloud` creates the cluster, given what EKS says of one of that name
 * (undefined: there is none). One that is there is not created again: `eksctl create cluster`
 * would fail on it, so a run that failed after eksctl (the ECR repository, the cluster autoscaler)
 * is resumed by running again. One that is not usable yet, or any more, is one line saying what to wait for.
 */
export function creationStep(config: Pick<ClusterConfig, 'clusterName' | 'region'>, status: string | undefined): 'create' | 'exists' {
  if (status === undefined) return 'create';
  if (status === 'ACTIVE' || status === 'UPDATING') return 'exists';
  const cluster = `EKS cluster "${config.clusterName}" in ${config.region} is ${status}`;
  const again = 'then run cortex cluster up --cloud again for the rest';
  if (status === 'CREATING' || status === 'PENDING') throw new UserError(`${cluster}: it is still being created (by an earlier cluster up, or eksctl); wait until cortex cluster info --cloud says ACTIVE (15–25 minutes from the start), ${again}`);
  if (status === 'DELETING') throw new UserError(`${cluster}: wait until it is gone (cortex cluster info --cloud says it does not exist), then run cortex cluster up --cloud again`);
  throw new UserError(`${cluster}: EKS cannot use it; delete it (cortex cluster down --cloud), then run cortex cluster up --cloud again`);
}

export async function cloudClusterUp(file: string | undefined, opts: { dryRun?: boolean }, io: CloudIo = defaultIo()): Promise<void> {
  const config = await resolveClusterConfig(file);
  for (const line of clusterPlan(config)) io.print(line);
  const yaml = eksctlConfigYaml(config);
  if (opts.dryRun) {
    io.print('');
    io.print(`# eksctl create cluster -f ${eksctlFilePath(config, io.env)} would create:`);
    for (const line of yaml.trimEnd().split('\n')) io.print(line);
    return;
  }
  await eksctlPath(io.env); // say how to install it before anything else happens
  const clients = awsClients({ region: config.region });
  try {
    const identity = await callerIdentity(clients);
    io.print(`AWS account ${identity.account} as ${identity.arn}`);
    const status = await clusterStatus(clients, config.clusterName);
    if (creationStep(config, status) === 'create') {
      const target = eksctlFilePath(config, io.env);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, yaml);
      io.print(`creating the cluster with eksctl (15–25 minutes): eksctl create cluster -f ${target}`);
      await runEksctl(['create', 'cluster', '-f', target], io, 'creating');
    } else {
      io.print(`EKS cluster "${config.clusterName}" is there already (${status}): not created again (no eksctl); the ECR repository and the cluster autoscaler next`);
    }
    const repository = await ensureRepository(clients, runtimeRepositoryName(config), { 'cortex.dev/cluster': config.clusterName });
    io.print(`ECR repository ${repository.uri}${repository.created ? ' created' : ' (already there)'}`);
    const cluster = await describeCluster(clients, config.clusterName);
    io.print(`cluster "${config.clusterName}" is ${cluster.status}: ${cluster.endpoint}`);
    // eksctl installs the NVIDIA device plugin on GPU node groups itself (--install-nvidia-plugin, on by default).
    const installed = await installClusterAutoscaler(await new EksAccess(clients, config.clusterName, { namespace: defaultNamespace }).kubeConfig(), config);
    io.print(`cluster autoscaler ${clusterAutoscalerImage(config.kubernetesVersion)} applied: ${installed.join(', ')}`);
  } finally {
    clients.destroy();
  }
}

export async function cloudClusterDown(file: string | undefined, opts: { dryRun?: boolean }, io: CloudIo = defaultIo()): Promise<void> {
  const config = await resolveClusterConfig(file);
  const target = eksctlFilePath(config, io.env);
  if (opts.dryRun) {
    io.print(`would delete EKS cluster "${config.clusterName}" in ${config.region} and every node group: eksctl delete cluster --name ${config.clusterName} --region ${config.region} --wait`);
    return;
  }
  const args = existsSync(target) ? ['delete', 'cluster', '-f', target, '--wait'] : ['delete', 'cluster', '--name', config.clusterName, '--region', config.region, '--wait'];
  io.print(`deleting EKS cluster "${config.clusterName}" in ${config.region} (about 10 minutes)`);
  await runEksctl(args, io, 'deleting');
  io.print(`EKS cluster "${config.clusterName}" deleted; the ECR repository ${runtimeRepositoryName(config)} is kept (delete it in the console if you want)`);
}

export async function cloudClusterInfo(file: string | undefined, io: CloudIo = defaultIo()): Promise<void> {
  const config = await resolveClusterConfig(file);
  const clients = awsClients({ region: config.region });
  try {
    const [identity, cluster] = await Promise.all([callerIdentity(clients), describeCluster(clients, config.clusterName)]);
    io.print(`EKS cluster "${cluster.name}" in ${config.region}: ${cluster.status}, Kubernetes ${cluster.version ?? '?'}`);
    io.print(`API server: ${cluster.endpoint}`);
    io.print(`AWS account ${identity.account} as ${identity.arn}`);
    for (const line of describeNodeGroups(config)) io.print(`node group ${line}`);
  } finally {
    clients.destroy();
  }
}

/** What a kubeconfig's exec plugin prints: `users[].user.exec: { command: cortex, args: [cloud, token, …] }`. */
export async function execCredential(clusterName: string, region: string): Promise<string> {
  const clients = awsClients({ region });
  try {
    const { token, expiresAt } = await eksToken({ clusterName, region, credentials: await clients.credentials() });
    return JSON.stringify({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      spec: {},
      status: { expirationTimestamp: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'), token },
    });
  } finally {
    clients.destroy();
  }
}

export function registerCloud(program: Command): void {
  const cloud = program.command('cloud').description('AWS EKS helpers: the eksctl config cortex would create, a Kubernetes token, the AWS identity');

  cloud
    .command('config')
    .description('validate a cluster.yaml and print the eksctl ClusterConfig it becomes')
    .argument('[CLUSTER_YAML]', 'the cluster config (default: ./cluster.yaml, else cortex defaults)')
    .option('--plan', 'print the node groups only')
    .action(async (file: string | undefined, opts: { plan?: boolean }) => {
      const config = await resolveClusterConfig(file);
      if (opts.plan) for (const line of clusterPlan(config)) console.log(line);
      else process.stdout.write(eksctlConfigYaml(config));
    });

  cloud
    .command('token')
    .description('print an EKS bearer token as a kubeconfig exec credential (no aws CLI needed)')
    .requiredOption('--cluster <name>', 'EKS cluster name')
    .option('--region <region>', 'AWS region', process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1')
    .action(async (opts: { cluster: string; region: string }) => {
      console.log(await execCredential(opts.cluster, opts.region));
    });

  cloud
    .command('kubeconfig')
    .description('print a kubeconfig for kubectl whose user runs `cortex cloud token` (no aws CLI)')
    .argument('[CLUSTER_YAML]', 'the cluster config (default: ./cluster.yaml, else cortex defaults)')
    .action(async (file: string | undefined) => {
      const config = await resolveClusterConfig(file);
      const clients = awsClients({ region: config.region });
      try {
        process.stdout.write(execKubeconfigYaml(await describeCluster(clients, config.clusterName), config.region));
      } finally {
        clients.destroy();
      }
    });

  cloud
    .command('whoami')
    .description('the AWS account and identity cortex would use, and its ECR registry')
    .option('--region <region>', 'AWS region', process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1')
    .action(async (opts: { region: string }) => {
      const clients = awsClients({ region: opts.region });
      try {
        const identity = await callerIdentity(clients);
        const login = await registryLogin(clients);
        console.log(`AWS account ${identity.account} as ${identity.arn}`);
        console.log(`ECR registry ${login.registry}`);
      } finally {
        clients.destroy();
      }
    });
}
