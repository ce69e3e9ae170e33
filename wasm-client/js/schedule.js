// Listeners of the store re-read it in a microtask rather than at once: a burst of events (a
// replay, a snapshot) costs one re-read instead of one per event, and the read never re-enters
// the wasm store while it is still inside the call that notified us.

/**
 * A function that runs `fn` once in the next microtask however often it is called before then;
 * `cancel()` stops it for good.
 * @param {() => void} fn
 * @returns {(() => void) & { cancel(): void }}
 */
export function batched(fn) {
  let queued = false;
  let live = true;
  const run = () => {
    queued = false;
    if (live) fn();
  };
  const schedule = () => {
    if (live && !queued) {
      queued = true;
      queueMicrotask(run);
    }
  };
  schedule.cancel = () => {
    live = false;
  };
  return schedule;
}
