/** A mistake the user can fix (a bad flag, spec, or environment): printed as one line, exit code 2. */
export class UserError extends Error {
  readonly exitCode: number = 2;
  override name = 'UserError';
}
