// Docker tests run against the real daemon; they skip, saying why, only where none answers.
import type { ExecutionContext } from 'ava';
import { dockerUnavailableReason } from '../../src/image/docker-client.js';

const unavailable = await dockerUnavailableReason();

export function withoutDocker(t: ExecutionContext): boolean {
  if (!unavailable) return false;
  t.log(`skipped: ${unavailable}`);
  t.pass();
  return true;
}
