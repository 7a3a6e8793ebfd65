// Reaching the Docker daemon, and the errors a user meets when it cannot be reached, each as
// one line that says what to do.
import Docker from 'dockerode';
import { UserError } from '../user-error.js';

const pingTimeoutMs = 5_000;

/** Where the daemon is expected, for messages: the socket path or DOCKER_HOST. */
export function daemonAddress(docker: Docker): string {
  const modem = docker.modem as { socketPath?: unknown; host?: string; port?: string | number };
  // docker-modem may hold a function that picks the socket lazily; name the usual one then.
  if (typeof modem.socketPath === 'string') return modem.socketPath;
  if (modem.socketPath) return process.env.DOCKER_HOST ?? '/var/run/docker.sock';
  return `${modem.host ?? 'localhost'}${modem.port ? `:${modem.port}` : ''}`;
}

/** The user-facing form of a failure to talk to the daemon; undefined when it is something else. */
export function daemonUnreachable(err: unknown, address: string): UserError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED')
    return new UserError(`Docker is not running (nothing answers at ${address}): start it (sudo systemctl start docker / dockerd) or use --backend process`);
  if (code === 'EACCES' || code === 'EPERM')
    return new UserError(`permission denied on ${address}: add yourself to the docker group (sudo usermod -aG docker $USER, then log in again) or use --backend process`);
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH')
    return new UserError(`Docker at ${address} does not answer: check DOCKER_HOST and that the daemon is up, or use --backend process`);
  return undefined;
}

/** A client whose daemon has answered a ping, or a UserError that says why there is none. */
export async function connectDocker(docker: Docker = new Docker(), options: { timeoutMs?: number } = {}): Promise<Docker> {
  const address = daemonAddress(docker);
  const timeoutMs = options.timeoutMs ?? pingTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('ping timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  try {
    await Promise.race([docker.ping(), timeout]);
    return docker;
  } catch (err) {
    throw daemonUnreachable(err, address) ?? new UserError(`Docker at ${address} answered with an error: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Why Docker cannot be used here, or undefined when it can: for picking a backend and skipping tests. */
export async function dockerUnavailableReason(docker?: Docker, timeoutMs?: number): Promise<string | undefined> {
  try {
    await connectDocker(docker, { timeoutMs });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The HTTP status of a daemon error (dockerode puts it on the error), if it is one. */
export function daemonStatus(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The daemon's own message, without dockerode's "(HTTP code 409) unexpected - " prefix. */
export function daemonMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | undefined)?.json;
  if (json && typeof json.message === 'string') return json.message.trim();
  return (err as Error).message.replace(/^\(HTTP code \d+\)\s*[\w ]*-\s*/, '').trim();
}
