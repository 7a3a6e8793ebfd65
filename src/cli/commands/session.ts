// Commands that talk to a running `cortex dev` session from another terminal; with --cloud, to
// the EKS cluster `cortex deploy --cloud` deployed to (cloud-apis.ts, loaded only then).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { callSession, readRecord, sessionFilePath, type SessionFile } from '../../dev/session-file.js';
import type { ReplicaLogLine } from '../../model/backend.js';
import type { SessionSnapshot } from '../../model/status.js';
import { formatLogLine } from '../../../runtime/log-format.js';
import { UserError } from '../../user-error.js';
import { contentTypeOf } from '../content-types.js';
import { formatGet } from '../get-view.js';
import { findSample, projectSample } from '../samples.js';
import { connectSession } from '../session-choice.js';

async function snapshotOf(file: SessionFile, api?: string): Promise<SessionSnapshot> {
  const snapshot = await callSession<SessionSnapshot>(file, 'GET', '/v1/session');
  if (api && !snapshot.apis.some((a) => a.name === api)) {
    throw new UserError(`no api named "${api}" in the dev session; the apis are: ${snapshot.apis.map((a) => a.name).join(', ')}`);
  }
  return snapshot;
}

interface CloudFlags {
  cloud?: boolean;
  cluster?: string;
  session?: string;
}

/** With --cloud: the command runs against the EKS cluster of cluster.yaml (cloud-apis.ts), not the dev session; Ctrl-C ends a watch or a follow. */
async function onCloud<T>(flags: CloudFlags, run: (apis: typeof import('./cloud-apis.js'), target: import('../../cloud/target.js').CloudTarget) => Promise<T>): Promise<T> {
  if (flags.session !== undefined) throw new UserError('--session picks a dev session; it does not go with --cloud');
  const [apis, { eksTarget }, { resolveClusterConfig }] = await Promise.all([import('./cloud-apis.js'), import('../../cloud/target.js'), import('./cloud.js')]);
  const target = eksTarget(await resolveClusterConfig(flags.cluster));
  try {
    return await run(apis, target);
  } finally {
    target.close();
  }
}

const cloudOption = '--cloud';
const cloudHelp = 'the apis cortex deploy --cloud runs on EKS, instead of the dev session';
const clusterOption = '-c, --cluster <cluster.yaml>';
const clusterHelp = 'with --cloud: the EKS cluster config (default ./cluster.yaml, else the cortex defaults)';
const sessionOption = '-s, --session <folder|name>';
const sessionHelp = 'the dev session for this project folder (or folder name), when several run; by default the one whose folder holds the working directory';

/** Resolves on Ctrl-C or SIGTERM: a watch stopped that way has done its job (exit code 0). */
function untilStopped(): { stopped: Promise<void>; dispose(): void } {
  let done!: () => void;
  const stopped = new Promise<void>((resolve) => (done = resolve));
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const signal of signals) process.once(signal, done);
  return { stopped, dispose: () => signals.forEach((signal) => process.off(signal, done)) };
}

export function registerSessionCommands(program: Command): void {
  program
    .command('get')
    .description('show the status of the apis in the running dev session, or with --cloud on EKS')
    .argument('[api]', 'one api: adds its replicas, endpoint and a curl')
    .option('-w, --watch', 'redraw every 2 seconds')
    .option('-o, --output <format>', 'table or json', 'table')
    .option(sessionOption, sessionHelp)
    .option(cloudOption, cloudHelp)
    .option(clusterOption, clusterHelp)
    .action(async (api: string | undefined, opts: { watch?: boolean; output: string } & CloudFlags) => {
      if (opts.output !== 'table' && opts.output !== 'json') throw new UserError(`-o ${opts.output} is not a format; use table or json`);
      if (opts.cloud) return void (await onCloud(opts, async (c, target) => c.cloudGet(target, api, { ...opts, ...(api ? { sample: await projectSample(api) } : {}) })));
      const file = await connectSession(opts.session);
      const show = async () => {
        const snapshot = await snapshotOf(file, api);
        if (opts.output === 'json') return JSON.stringify(api ? snapshot.apis.find((a) => a.name === api) : snapshot, null, 2);
        // A terminal's width is kept to (read again each redraw: it may be resized); a pipe gets whole lines.
        const width = process.stdout.isTTY ? process.stdout.columns : undefined;
        return formatGet(snapshot, api, { ...(width ? { width } : {}), ...(api ? { sample: await findSample(snapshot.dir) } : {}) });
      };
      if (!opts.watch) return console.log(await show());
      const stop = untilStopped();
      let stopped = false;
      void stop.stopped.then(() => (stopped = true));
      try {
        while (!stopped) {
          let text: string;
          try {
            text = await show();
          } catch (err) {
            if ((await readRecord(sessionFilePath(file.dir)))?.pid !== file.pid) throw new UserError('the dev session has ended');
            text = `cortex: ${(err as Error).message}`;
          }
          process.stdout.write(`\x1b[2J\x1b[H${text}\n`);
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([stop.stopped, new Promise((r) => (timer = setTimeout(r, 2000)))]);
          clearTimeout(timer);
        }
      } finally {
        stop.dispose();
      }
    });

  program
    .command('logs')
    .description("stream an api's replica logs from the running dev session, or with --cloud its pods' on EKS")
    .argument('<api>')
    .option('--no-follow', 'print what is buffered and exit')
    .option(sessionOption, sessionHelp)
    .option(cloudOption, cloudHelp)
    .option(clusterOption, clusterHelp)
    .action(async (api: string, opts: { follow: boolean } & CloudFlags) => {
      if (opts.cloud) return onCloud(opts, (c, target) => c.cloudLogs(target, api, opts));
      const file = await connectSession(opts.session);
      await snapshotOf(file, api);
      const res = await fetch(`${file.control}/v1/logs?api=${encodeURIComponent(api)}&follow=${opts.follow ? 1 : 0}`, { headers: { authorization: `Bearer ${file.token}` } });
      let rest = '';
      for await (const chunk of res.body ?? []) {
        rest += Buffer.from(chunk).toString('utf8');
        const lines = rest.split('\n');
        rest = lines.pop() ?? '';
        for (const raw of lines) {
          const line = JSON.parse(raw) as ReplicaLogLine;
          console.log(`${line.replica} ${formatLogLine({ ...line, time: new Date(line.time) })}`);
        }
      }
    });

  program
    .command('predict')
    .description('send FILE to an api of the running dev session (or with --cloud on EKS) and print the answer')
    .argument('<api>')
    .argument('<file>', 'JSON, text, or an image; the content type follows the extension')
    .option(sessionOption, sessionHelp)
    .option(cloudOption, cloudHelp)
    .option(clusterOption, clusterHelp)
    .action(async (api: string, path: string, opts: CloudFlags) => {
      if (opts.cloud) return void (await onCloud(opts, (c, target) => c.cloudPredict(target, api, path)));
      const file = await connectSession(opts.session);
      const endpoint = (await snapshotOf(file, api)).apis.find((a) => a.name === api)!.endpoint;
      const body = await readFile(path).catch(() => {
        throw new UserError(`cannot read ${path}`);
      });
      const res = await fetch(endpoint, { method: 'POST', body, headers: { 'content-type': contentTypeOf(path) } });
      const text = await res.text();
      if (!res.ok) throw new UserError(`${api} answered ${res.status}: ${text}`);
      console.log(text);
    });

  program
    .command('delete')
    .description('remove an api (and its replicas) from the running dev session, or with --cloud from EKS')
    .argument('<api>')
    .option(sessionOption, sessionHelp)
    .option(cloudOption, cloudHelp)
    .option(clusterOption, clusterHelp)
    .action(async (api: string, opts: CloudFlags) => {
      if (opts.cloud) return void (await onCloud(opts, (c, target) => c.cloudDelete(target, api)));
      const file = await connectSession(opts.session);
      await snapshotOf(file, api);
      await callSession(file, 'DELETE', `/v1/apis/${encodeURIComponent(api)}`);
      console.log(`deleted ${api}`);
    });
}
