import { isStreamNotFoundError, isWrongExpectedVersionError } from './errors.js';
import type {
  AppendResult,
  EventData,
  EventStore,
  RecordedEvent,
  StreamRevision,
} from './event-store.port.js';
import { StreamQueue } from './stream-queue.js';

/** A decider (after Jérémie Chassaing): pure decisions over a state folded from past events. */
export interface Decider<Command, Event, State> {
  initialState(): State;
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Event): State;
}

export interface HandleCommandOptions<Event> {
  /** How many times to re-read and re-decide after a concurrent writer won. Default 5. */
  readonly maxRetries?: number;
  /** Turns a stored event back into the decider's event (upcasting lives here). */
  readonly fromRecorded: (event: RecordedEvent) => Event;
  /** Turns a decided event into what the store appends: adds ids and metadata. */
  readonly toEventData: (event: Event, index: number) => EventData;
  /**
   * The caller minted the stream's name for this command (e.g. from a fresh UUIDv7), so it has no history:
   * the first attempt decides on the initial state without reading the stream. The append still expects
   * `no_stream`, so were the name taken after all, the conflict sends the retry through a read as usual.
   */
  readonly newStream?: boolean;
}

export interface HandleCommandResult<Event, State> {
  readonly events: readonly Event[];
  readonly state: State;
  /** `undefined` when the decider decided nothing, so nothing was appended. */
  readonly appended: AppendResult | undefined;
  /** The stream's revision before this command's events. */
  readonly previousRevision: StreamRevision | 'no_stream';
}

/**
 * Commands on one stream through one store handle run one after another. Concurrent commands on a claim
 * would otherwise all read the same revision and all but one lose the race in every round (group commit
 * puts them in the same batch), turning valid requests into conflicts. Only writers in other processes still
 * race, and those are retried below.
 */
const streamQueues = new WeakMap<EventStore, StreamQueue>();

function inStreamOrder<T>(store: EventStore, streamName: string, work: () => Promise<T>): Promise<T> {
  let queue = streamQueues.get(store);
  if (queue === undefined) {
    queue = new StreamQueue();
    streamQueues.set(store, queue);
  }
  return queue.run(streamName, work);
}

/** A short random pause before a retry, so writers in other processes stop colliding in lockstep. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * 2 ** Math.min(attempt, 6);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The one command-handling path: read the stream, fold it, decide, append with the expected revision, and
 * on a concurrency conflict start again from a fresh read (bounded, with jittered backoff). Commands on the
 * same stream through the same store run in arrival order. Domain errors thrown by `decide` pass through.
 *
 * @example
 * const { appended } = await handleCommand(store, `claim-${id}`, claimDecider, command, { fromRecorded, toEventData });
 */
export function handleCommand<Command, Event, State>(
  store: EventStore,
  streamName: string,
  decider: Decider<Command, Event, State>,
  command: Command,
  options: HandleCommandOptions<Event>,
): Promise<HandleCommandResult<Event, State>> {
  return inStreamOrder(store, streamName, () =>
    decideAndAppend(store, streamName, decider, command, options),
  );
}

async function decideAndAppend<Command, Event, State>(
  store: EventStore,
  streamName: string,
  decider: Decider<Command, Event, State>,
  command: Command,
  options: HandleCommandOptions<Event>,
): Promise<HandleCommandResult<Event, State>> {
  const maxRetries = options.maxRetries ?? 5;
  for (let attempt = 0; ; attempt += 1) {
    let state = decider.initialState();
    let revision: StreamRevision | 'no_stream' = 'no_stream';
    if (attempt > 0 || options.newStream !== true) {
      try {
        for await (const recorded of store.readStream(streamName)) {
          state = decider.evolve(state, options.fromRecorded(recorded));
          revision = recorded.revision;
        }
      } catch (error) {
        if (!isStreamNotFoundError(error)) throw error;
      }
    }

    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, appended: undefined, previousRevision: revision };
    try {
      const appended = await store.appendToStream(streamName, events.map(options.toEventData), {
        expectedRevision: revision,
      });
      const next = events.reduce((folded, event) => decider.evolve(folded, event), state);
      return { events, state: next, appended, previousRevision: revision };
    } catch (error) {
      if (!isWrongExpectedVersionError(error) || attempt >= maxRetries) throw error;
      await backoff(attempt);
    }
  }
}
