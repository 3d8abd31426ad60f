/**
 * Runs work on one stream one after another, per stream name; work on different streams runs concurrently.
 * Writers that read a stream's revision and then append with it would otherwise all read the same revision
 * and all but one lose the race, turning valid appends into conflicts.
 *
 * @example
 * ```ts
 * const queue = new StreamQueue();
 * await queue.run('claim-1', () => decideAndAppend());
 * ```
 */
export class StreamQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier work on `streamName` has settled; resolves or rejects as `work` does. */
  run<T>(streamName: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(streamName) ?? Promise.resolve();
    const run = previous.then(work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(streamName, tail);
    void tail.then(() => {
      if (this.#tails.get(streamName) === tail) this.#tails.delete(streamName);
    });
    return run;
  }
}
