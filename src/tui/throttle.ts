/**
 * Runs `fn` at once, then at most once per `ms`: calls in between collapse into one trailing
 * run, so a burst of events costs two renders, not hundreds, and the last state always shows.
 */
export function throttle(fn: () => void, ms: number): { call(): void; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let pending = false;
  const call = (): void => {
    if (timer) {
      pending = true;
      return;
    }
    fn();
    timer = setTimeout(() => {
      timer = undefined;
      if (pending) {
        pending = false;
        call();
      }
    }, ms);
  };
  return { call, cancel: () => clearTimeout(timer) };
}
