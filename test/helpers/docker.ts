// Docker tests run against the real daemon. Where none answers they are registered as skipped,
// so the summary counts them as skipped and says why; where CI has started a daemon
// (CORTEX_DOCKER_TESTS=required) they run regardless, and fail if it has gone.
import test, { type ExecutionContext } from 'ava';
import { dockerUnavailableReason } from '../../src/image/docker-client.js';

// A loaded machine (two shared cores, a build next door) can take seconds to answer a ping;
// skipping on a slow answer would hide failures, so wait long before calling it absent.
const unavailable = process.env.CORTEX_DOCKER_TESTS === 'required' ? undefined : await dockerUnavailableReason(undefined, 20_000);

if (unavailable) console.log(`Docker tests skipped: ${unavailable}`);

type Implementation = (t: ExecutionContext) => Promise<void> | void;

/** A serial test that needs the Docker daemon. */
export const dockerTest: (title: string, implementation: Implementation) => void = unavailable
  ? (title, implementation) => test.serial.skip(title, implementation)
  : (title, implementation) => test.serial(title, implementation);
