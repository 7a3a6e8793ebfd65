/** A mistake the user can fix (a bad flag, spec, or environment): printed as one line, exit code 2. */
export class UserError extends Error {
  readonly exitCode: number = 2;
  override name = 'UserError';
}

/** The one line for a port someone else holds (the gateway of `cortex dev`, `cortex serve`). */
export function portInUse(port: number): UserError {
  return new UserError(`port ${port} is already in use; pick another with --port`);
}
