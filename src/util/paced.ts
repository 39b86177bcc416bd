/**
 * Feed `items` to `take` in slices of about `sliceMs` of this thread's time, with a turn
 * of the event loop between slices. Work of a few hundred milliseconds on the main thread
 * (an export's metadata) then does not keep it from handing worker threads their next
 * jobs: they would otherwise sit idle for all of it. `take` must consume its slice.
 * Between slices, `stop` may end the work: it then throws PacedStop.
 */
export async function paced<T>(items: Iterable<T>, take: (slice: Iterable<T>) => void, sliceMs = 4, stop: () => boolean = () => false): Promise<void> {
  const it = items[Symbol.iterator]();
  let done = false;
  function* slice(): Generator<T> {
    const until = performance.now() + sliceMs;
    for (;;) {
      const r = it.next();
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
      if (performance.now() >= until) return;
    }
  }
  for (;;) {
    take(slice());
    if (done) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (stop()) throw new PacedStop();
  }
}

/** paced() was told to stop. */
export class PacedStop extends Error {
  constructor() {
    super('stopped between slices');
    this.name = 'PacedStop';
  }
}
