import { type EventStore, isStreamNotFoundError, type RecordedEvent } from '@ledger/event-store';

const DEFAULT_CAPACITY = 100_000;

/**
 * The actor id of each claim event's claim: the Kafka key. `ClaimMade` carries it; denials, confirmations and
 * retractions carry only the claim id, so their actor comes from the first event of the claim's own stream,
 * remembered (least recently used first out) because an actor's claims are usually answered in bursts.
 */
export class ActorKeys {
  readonly #store: EventStore;
  readonly #capacity: number;
  readonly #byStream = new Map<string, string>();

  constructor(store: EventStore, capacity: number = DEFAULT_CAPACITY) {
    this.#store = store;
    this.#capacity = Math.max(1, capacity);
  }

  /** The actor id of the event's claim, or `undefined` when its stream has no `ClaimMade` with an actor. */
  async of(event: RecordedEvent): Promise<string | undefined> {
    const own = event.type === 'ClaimMade' ? actorIdOf(event) : undefined;
    if (own !== undefined) {
      this.#remember(event.streamId, own);
      return own;
    }
    const known = this.#byStream.get(event.streamId);
    if (known !== undefined) {
      // Refresh its place: a Map iterates in insertion order, so the first key is the least recently used.
      this.#byStream.delete(event.streamId);
      this.#byStream.set(event.streamId, known);
      return known;
    }
    try {
      for await (const first of this.#store.readStream(event.streamId, { maxCount: 1 })) {
        const actorId = first.type === 'ClaimMade' ? actorIdOf(first) : undefined;
        if (actorId !== undefined) this.#remember(event.streamId, actorId);
        return actorId;
      }
    } catch (error) {
      if (!isStreamNotFoundError(error)) throw error;
    }
    return undefined;
  }

  #remember(streamId: string, actorId: string): void {
    this.#byStream.delete(streamId);
    this.#byStream.set(streamId, actorId);
    if (this.#byStream.size > this.#capacity) {
      const oldest = this.#byStream.keys().next().value as string;
      this.#byStream.delete(oldest);
    }
  }
}

function actorIdOf(event: RecordedEvent): string | undefined {
  const actor = (event.data as { readonly actor?: { readonly id?: unknown } } | null)?.actor;
  return typeof actor?.id === 'string' && actor.id !== '' ? actor.id : undefined;
}
