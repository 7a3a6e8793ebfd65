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

/** Why the daemon cannot be used, and how to fix that on this machine. */
export interface DaemonProblem {
  problem: string;
  fix: string;
}

/** What went wrong talking to the daemon at `address`, for a person. */
export function daemonProblem(err: unknown, address: string): DaemonProblem {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return { problem: `Docker is not running (nothing answers at ${address})`, fix: 'start it (sudo systemctl start docker / dockerd)' };
  if (code === 'EACCES' || code === 'EPERM') return { problem: `permission denied on ${address}`, fix: 'add yourself to the docker group (sudo usermod -aG docker $USER, then log in again)' };
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') return { problem: `Docker at ${address} does not answer`, fix: 'check DOCKER_HOST and that the daemon is up' };
  const status = daemonStatus(err);
  // Something answered HTTP, but not as a daemon would: DOCKER_HOST names another server.
  if (status !== undefined && status < 500) return { problem: `${address} answered a Docker ping with HTTP ${status}, so it is not a Docker daemon`, fix: 'check DOCKER_HOST' };
  return { problem: `Docker at ${address} answered with an error (${daemonMessage(err)})`, fix: "check the daemon's log" };
}

/** The daemon cannot be used: one line, the problem then the fix, and what to do without Docker. */
export class DockerUnavailable extends UserError {
  constructor(
    readonly detail: DaemonProblem,
    otherwise?: string,
  ) {
    super(`${detail.problem}: ${detail.fix}${otherwise ? ` or ${otherwise}` : ''}`);
  }
}

/** A client whose daemon has answered a ping, or a UserError that says why there is none. */
export async function connectDocker(docker: Docker = new Docker(), options: { otherwise?: string; timeoutMs?: number } = {}): Promise<Docker> {
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
    throw new DockerUnavailable(daemonProblem(err, address), options.otherwise);
  } finally {
    clearTimeout(timer);
  }
}

/** Why Docker cannot be used here (without the fix), or undefined when it can: for picking a backend and skipping tests. */
export async function dockerUnavailableReason(docker?: Docker, timeoutMs?: number): Promise<string | undefined> {
  try {
    await connectDocker(docker, { timeoutMs });
    return undefined;
  } catch (err) {
    return err instanceof DockerUnavailable ? err.detail.problem : (err as Error).message;
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
