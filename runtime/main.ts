// The replica entry point: `node runtime/main.js`, configured by environment (settings.ts).
// Listens first so liveness answers during init; ready once the bundle has initialised.
import { removeOrphanedBundleDirs } from './bundle-dir.js';
import { readBundleFile } from './bundle-file.js';
import { guardProcess } from './crash-guard.js';
import { closeServer, exitOnSignals, idleGraceMs } from './drain.js';
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

const app = createServer({ bodyTimeoutMs: settings.bodyTimeoutMs });
guardProcess(app.log);
void removeOrphanedBundleDirs();
const replica = createReplica(settings);
await app.register(replica.plugin);
await app.ready();
// Fastify names each address it listens on; in a container those are the container's own
// (127.0.0.1:8080, 172.17.0.2:8080), which no client outside it reaches. Where the backend
// published the port elsewhere, it says where, and that address alone is the line.
const level = app.log.level;
if (settings.publicUrl) app.log.level = 'silent';
await app.listen({ host: settings.host, port: settings.port });
app.log.level = level;
if (settings.publicUrl) app.log.info(`Server listening at ${settings.publicUrl}`);
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : settings.port;
// A parent that forked us (the process backend) learns the port it asked the OS to pick.
process.send?.({ type: 'listening', port });

// Installed before init, which may take minutes downloading a model: a stop during it is still orderly.
const drain = exitOnSignals({
  log: app.log,
  deadlineMs: settings.drainTimeoutMs,
  stop: async () => {
    await closeServer(app, idleGraceMs(settings.drainTimeoutMs));
    await replica.close();
  },
});
// The parent going away (dev session killed hard) must not leave replicas behind.
process.on('disconnect', () => drain('parent exited'));

if (settings.bundlePath) {
  await readBundleFile(settings.bundlePath, settings.config)
    .then((bundle) => replica.slot.load(bundle))
    .then(
      (p) => app.log.info({ version: p.version, initMs: p.initMs }, 'predictor ready'),
      (err: Error) => app.log.error(err.message),
    );
}
