// The replica entry point: `node runtime/main.js`, configured by environment (settings.ts).
// Listens first so liveness answers during init; ready once the bundle has initialised.
import { readFile } from 'node:fs/promises';
import { guardProcess } from './crash-guard.js';
import { createReplica } from './replica.js';
import { createServer } from './server.js';
import { settingsFromEnv, type RuntimeSettings } from './settings.js';

process.setSourceMapsEnabled(true);

let settings: RuntimeSettings;
try {
  settings = settingsFromEnv(process.env);
} catch (err) {
  console.error(`cortex runtime: ${(err as Error).message}`);
  process.exit(2);
}

const app = createServer();
guardProcess(app.log);
const replica = createReplica(settings);
await app.register(replica.plugin);
await app.listen({ host: settings.host, port: settings.port });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : settings.port;
// A parent that forked us (the process backend) learns the port it asked the OS to pick.
process.send?.({ type: 'listening', port });

if (settings.bundlePath) {
  const code = await readFile(settings.bundlePath, 'utf8');
  await replica.slot.load({ code, config: settings.config }).then(
    (p) => app.log.info({ version: p.version, initMs: p.initMs }, 'predictor ready'),
    (err: Error) => app.log.error(err.message),
  );
}

let draining = false;
async function drain(signal: string) {
  if (draining) return;
  draining = true;
  app.log.info(`${signal}: draining in-flight requests`);
  const force = setTimeout(() => process.exit(1), Number(process.env.CORTEX_DRAIN_TIMEOUT_MS ?? 30_000));
  force.unref();
  // Keep-alive sockets that carried in-flight requests turn idle only after their response;
  // close them as they do, or the server never finishes closing.
  const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
  await app.close();
  clearInterval(sweep);
  await replica.close();
  process.exit(0);
}
process.on('SIGTERM', () => void drain('SIGTERM'));
process.on('SIGINT', () => void drain('SIGINT'));
// The parent going away (dev session killed hard) must not leave replicas behind.
process.on('disconnect', () => void drain('parent exited'));
