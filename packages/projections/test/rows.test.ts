import { type ClaimEvent, claimDecider, type RecordedClaimEvent, summarizeActor } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import {
  actorRows,
  actorView,
  type ClaimView,
  claimContextOf,
  claimEventRow,
  decodeClaimEvent,
  evolveClaimView,
  instantMs,
  type ProjectedEvent,
  partyOf,
  recordedFromRow,
  speakingParty,
} from '@ledger/projections';
import t from 'tap';
import {
  claimIds,
  cnMfa,
  confirm,
  deny,
  make,
  microsoft,
  retract,
  usDhs,
} from './fixtures/ledger.fixtures.js';

const id = claimIds.zirconium;

/** Events of one claim through the real decider, as the store would hand them back. */
function recorded(commands: Parameters<typeof claimDecider.decide>[0][]): RecordedEvent[] {
  let state = claimDecider.initialState();
  return commands.flatMap((command, index) =>
    claimDecider.decide(command, state).map((event: ClaimEvent) => {
      state = claimDecider.evolve(state, event);
      return {
        id: `event-${index}`,
        streamId: `claim-${id}`,
        revision: BigInt(index),
        type: event.type,
        data: JSON.parse(JSON.stringify(event.data)),
        metadata: { recordedAt: `2020-09-1${index}T00:00:00.000Z`, principal: 'key-1', schemaVersion: 1 },
        position: { commit: BigInt(10 * (index + 1)), prepare: BigInt(10 * (index + 1)) },
        created: new Date(),
      };
    }),
  );
}

const projected = (events: RecordedEvent[]): ProjectedEvent[] =>
  events.map((event) => {
    const result = decodeClaimEvent(event);
    if (!result.ok) throw new Error(result.reason);
    return result.projected;
  });

t.test('decodeClaimEvent', async (t) => {
  const [made] = recorded([make(id)]);
  t.match(decodeClaimEvent(made!), {
    ok: true,
    projected: {
      eventId: 'event-0',
      streamId: `claim-${id}`,
      revision: 0,
      position: 10,
      event: { type: 'ClaimMade', position: 10n },
    },
  });
  t.same(decodeClaimEvent({ ...made!, streamId: 'keys-1' }), { ok: false, reason: 'not-a-claim-stream' });
  t.same(decodeClaimEvent({ ...made!, type: 'ClaimAmended' }), { ok: false, reason: 'unknown-type' });
  t.match(decodeClaimEvent({ ...made!, data: { claimId: id } }), {
    ok: false,
    reason: 'invalid',
    detail: /claimant/,
  });
  t.match(decodeClaimEvent({ ...made!, metadata: undefined }), {
    ok: false,
    reason: 'invalid',
    detail: /recordedAt/,
  });
  const old = decodeClaimEvent({ ...made!, metadata: { recordedAt: '2020-09-10T00:00:00Z' } });
  t.match(old, { ok: true, projected: { event: { metadata: { schemaVersion: 1 } } } }, 'upcast on read');
});

t.test('claimEventRow', async (t) => {
  const [made, denied, confirmed, retracted] = projected(
    recorded([make(id), deny(id), confirm(id), retract(id, { statedAt: '2020-10-01T00:00:00.123456Z' })]),
  );
  const context = claimContextOf(made!.event as RecordedClaimEvent<'ClaimMade'>);
  t.same(context, { actorId: 'zirconium', state: 'CN', claimant: microsoft });
  t.match(claimEventRow(made!, context), {
    position: 10,
    event_id: 'event-0',
    type: 'ClaimMade',
    stream_id: `claim-${id}`,
    revision: 0,
    claim_id: id,
    actor_id: 'zirconium',
    state: 'CN',
    party_id: 'microsoft',
    party: JSON.stringify(microsoft),
    stated_at: '2020-09-10T16:00:00Z',
    stated_at_ms: Date.UTC(2020, 8, 10, 16),
    recorded_at: '2020-09-10T00:00:00.000Z',
    recorded_at_ms: Date.UTC(2020, 8, 10),
    principal: 'key-1',
  });
  t.equal(claimEventRow(denied!, context).party_id, 'cn-mfa');
  t.equal(claimEventRow(denied!, context).stated_at_ms, Date.UTC(2020, 8, 11, 7), 'zones become instants');
  t.equal(claimEventRow(confirmed!, context).party_id, 'us-dhs');
  const row = claimEventRow(retracted!, context);
  t.equal(row.party_id, 'microsoft', 'a retraction speaks as the claimant');
  t.equal(row.stated_at_ms, Date.UTC(2020, 9, 1) + 123, 'whole milliseconds, rounded down');
  t.same(
    recordedFromRow(row),
    { ...retracted!.event, metadata: { recordedAt: retracted!.event.metadata.recordedAt } },
    'the fold reads back the data and recordedAt it was projected with',
  );
  const anonymous = {
    ...denied!,
    event: { ...denied!.event, metadata: { recordedAt: '2020-09-11T00:00:00Z' } },
  };
  t.equal(claimEventRow(anonymous, context).principal, '', 'no principal recorded');
  t.same(
    speakingParty(
      {
        ...denied!.event,
        data: { ...denied!.event.data, denier: { ...cnMfa, extra: 1 } as never },
      } as RecordedClaimEvent,
      context,
    ),
    cnMfa,
  );
});

t.test('evolveClaimView', async (t) => {
  const [made, denied, confirmed, retracted] = projected(
    recorded([make(id), deny(id), confirm(id), retract(id)]),
  );
  const views = [made, denied, confirmed, retracted].reduce<ClaimView[]>((list, event) => {
    list.push(evolveClaimView(list.at(-1), event!)!);
    return list;
  }, []);
  t.same(
    views.map((view) => [view.status, view.revision, view.denials.length, view.confirmations.length]),
    [
      ['alleged', 0, 0, 0],
      ['disputed', 1, 1, 0],
      ['contested', 2, 1, 1],
      ['retracted', 3, 1, 1],
    ],
  );
  t.match(views[0], {
    claimId: id,
    actor: { id: 'zirconium' },
    eventId: 'event-0',
    recordedAt: '2020-09-10T00:00:00.000Z',
    position: 10,
  });
  t.match(views[1]?.denials, [{ denier: cnMfa, eventId: 'event-1', position: 20 }]);
  t.match(views[3]?.retraction, { by: 'microsoft', position: 40 });

  t.equal(evolveClaimView(undefined, denied!), undefined, 'no ClaimMade, no view');
  t.equal(evolveClaimView(views[0], made!), views[0], 'a second ClaimMade is ignored');
  const again = evolveClaimView(views[3], { ...retracted!, revision: 9 });
  t.same(again, { ...views[3], revision: 9 }, 'a second retraction only moves the revision');
  t.same(partyOf(confirmed!), usDhs);
  t.equal(partyOf(retracted!), undefined);
});

t.test('actorRows and actorView', async (t) => {
  const events = projected(recorded([make(id), deny(id), confirm(id)])).map((p) => p.event);
  const summary = summarizeActor(events)!;
  t.same(actorView(summary), {
    actorId: 'zirconium',
    name: 'Zirconium',
    aliases: ['APT31'],
    status: 'contested',
    attributions: summary.attributions,
    position: 30,
  });
  const rows = actorRows(summary);
  t.match(rows.actor, {
    actor_id: 'zirconium',
    status: 'contested',
    attributions: '[{"state":"CN","status":"contested"}]',
    last_stated_at: '2020-09-11T15:00:00+08:00',
    position: 30,
  });
  t.same(JSON.parse(rows.actor.summary), actorView(summary));
  t.same(rows.attributions, [{ actor_id: 'zirconium', state: 'CN', status: 'contested' }]);
});

t.test('instantMs', async (t) => {
  t.equal(instantMs('2020-09-10T12:00:00Z'), Date.UTC(2020, 8, 10, 12));
  t.equal(instantMs('2020-09-10T14:00:00.5+02:00'), Date.UTC(2020, 8, 10, 12, 0, 0, 500));
  t.equal(instantMs('2020-09-10T12:00:00.0005Z'), Date.UTC(2020, 8, 10, 12));
  t.equal(instantMs('2020-09-10T12:00:00.0005Z', 'ceil'), Date.UTC(2020, 8, 10, 12) + 1);
  t.equal(
    instantMs('2020-09-10T12:00:00.0010Z', 'ceil'),
    Date.UTC(2020, 8, 10, 12) + 1,
    'trailing zeros are exact',
  );
  t.equal(instantMs('2020-09-10T12:00:00.000Z', 'ceil'), Date.UTC(2020, 8, 10, 12));
  t.throws(() => instantMs('yesterday'), RangeError);
  t.throws(() => instantMs('2020-13-45T12:00:00Z'), RangeError);
});
