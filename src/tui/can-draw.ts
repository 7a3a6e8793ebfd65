// Asked before Ink is loaded: a session that prints lines has no use for Ink and React (8 MB of heap).
import isInCi from 'is-in-ci';

/**
 * Whether the live view can draw here. Under CI=true Ink writes only the last frame, at exit, so
 * a TTY in a CI job (or a shell that exports CI) would show nothing at all while serving.
 */
export function canDrawLive(stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream): boolean {
  return Boolean(stdout.isTTY && stdin.isTTY) && !isInCi;
}
