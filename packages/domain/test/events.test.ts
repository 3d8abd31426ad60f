import {
  ClaimConfirmed,
  ClaimEvent,
  ClaimEventType,
  ClaimMade,
  ClaimRetracted,
  CURRENT_SCHEMA_VERSION,
  EventMetadata,
  StoredClaimEvent,
  type StoredEventShape,
  upcastClaimEvent,
} from '@ledger/domain';
import t from 'tap';
import { claimIds, cnMfa, microsoft, msBlog, usDhs } from './fixtures/claims.fixtures.js';

const made = {
  claimId: claimIds.zirconium,
  claimant: microsoft,
  actor: { id: 'zirconium', name: 'Zirconium', aliases: [] },
  attribution: { state: 'CN', relation: 'operating-from' },
  summary: 'Zirconium attacked people associated with the Biden campaign.',
  source: msBlog,
  statedAt: '2020-09-10T16:00:00Z',
};

t.test('ClaimMade', async (t) => {
  t.same(ClaimMade.parse(made).targets, [], 'targets default to []');
  t.ok(ClaimMade.safeParse({ ...made, confidence: 0 }).success);
  t.ok(ClaimMade.safeParse({ ...made, confidence: 100, campaign: 'Election 2020' }).success);
  for (const confidence of [-1, 101, 50.5, '80']) {
    t.notOk(ClaimMade.safeParse({ ...made, confidence }).success, `confidence ${confidence}`);
  }
  t.notOk(ClaimMade.safeParse({ ...made, claimId: 'c-1' }).success);
  t.notOk(ClaimMade.safeParse({ ...made, extra: true }).success, 'unknown fields are rejected');
  t.notOk(
    ClaimMade.safeParse({ ...made, actor: { id: 'Zirconium', name: 'Zirconium', aliases: [] } }).success,
  );

  const { issues } =
    ClaimMade.safeParse({ ...made, summary: ' ', statedAt: '2020-09-10', source: {} }).error ?? {};
  t.same(
    issues?.map((issue) => issue.path.join('.')).sort(),
    ['source.url', 'statedAt', 'summary'],
    'every bad field is named',
  );
});

t.test('ClaimConfirmed takes official confirmers only', async (t) => {
  const data = {
    claimId: claimIds.zirconium,
    confirmer: usDhs,
    statement: 'Consistent.',
    statedAt: made.statedAt,
  };
  t.ok(ClaimConfirmed.safeParse(data).success);
  t.ok(ClaimConfirmed.safeParse({ ...data, confirmer: { ...usDhs, kind: 'intergovernmental' } }).success);
  t.notOk(ClaimConfirmed.safeParse({ ...data, confirmer: microsoft }).success);
  t.notOk(ClaimConfirmed.safeParse({ ...data, caveats: [''] }).success);
});

t.test('ClaimRetracted', async (t) => {
  t.ok(
    ClaimRetracted.safeParse({
      claimId: claimIds.zirconium,
      by: 'microsoft',
      reason: 'r',
      statedAt: made.statedAt,
    }).success,
  );
  t.notOk(
    ClaimRetracted.safeParse({
      claimId: claimIds.zirconium,
      by: microsoft,
      reason: 'r',
      statedAt: made.statedAt,
    }).success,
  );
});

t.test('ClaimEvent discriminates on type', async (t) => {
  t.same(ClaimEventType.options, ['ClaimMade', 'ClaimDenied', 'ClaimConfirmed', 'ClaimRetracted']);
  const denied = {
    type: 'ClaimDenied',
    data: {
      claimId: claimIds.zirconium,
      denier: cnMfa,
      statement: 'No.',
      statedAt: '2020-09-11T15:00:00+08:00',
    },
  };
  t.same(ClaimEvent.parse(denied), denied);
  t.notOk(ClaimEvent.safeParse({ ...denied, type: 'ClaimMade' }).success);
  t.notOk(ClaimEvent.safeParse({ ...denied, type: 'ClaimForgotten' }).success);
});

t.test(
  'StoredClaimEvent reads what older rules wrote, and what the current rules write unchanged',
  async (t) => {
    const current = ClaimEvent.parse({ type: 'ClaimMade', data: made });
    t.same(StoredClaimEvent.parse(current), current, 'an event written today reads back as written');
    const older = {
      ...made,
      actor: { id: 'fаncy-bear', name: 'Fаncy Bear', aliases: ['x'.repeat(500)] },
      attribution: { state: 'YU', relation: 'operating-from' },
      summary: 'lone \uD800 surrogate',
      source: { url: 'ftp://example.org/report' },
      reviewedBy: 'desk-7',
    };
    t.notOk(ClaimMade.safeParse(older).success, 'the current input rules refuse it');
    t.same(
      StoredClaimEvent.parse({ type: 'ClaimMade', data: older }),
      { type: 'ClaimMade', data: { ...older, targets: [] } },
      'read as stored (targets default to [] as before), members it does not know kept',
    );
    for (const [what, data] of [
      ['no claimant', { ...made, claimant: undefined }],
      ['a party id of the wrong type', { ...made, claimant: { ...microsoft, id: 7 } }],
      ['a party kind no answer can show', { ...made, claimant: { ...microsoft, kind: 'oracle' } }],
      ['an empty actor id', { ...made, actor: { id: '', name: 'Zirconium', aliases: [] } }],
      ['a statedAt that is no instant', { ...made, statedAt: 'yesterday' }],
    ] as const) {
      t.notOk(StoredClaimEvent.safeParse({ type: 'ClaimMade', data: data }).success, what);
    }
    t.notOk(StoredClaimEvent.safeParse({ type: 'ClaimRetracted', data: { claimId: 'c', by: 'x' } }).success);
    t.notOk(StoredClaimEvent.safeParse({ type: 'ClaimAmended', data: made }).success, 'unknown types');
  },
);

t.test('EventMetadata keeps fields it does not know', async (t) => {
  const metadata = {
    recordedAt: '2020-09-10T16:05:00Z',
    principal: 'key-1',
    requestId: 'req-1',
    correlationId: 'req-1',
    schemaVersion: 1,
    previousHash: 'sha256:00',
  };
  t.same(EventMetadata.parse(metadata), metadata);
  t.notOk(EventMetadata.safeParse({ ...metadata, schemaVersion: 0 }).success);
  t.notOk(EventMetadata.safeParse({ ...metadata, recordedAt: 'now' }).success);
});

t.test('upcastClaimEvent', async (t) => {
  t.equal(CURRENT_SCHEMA_VERSION, 1);

  t.test('an event written before versioning is version 1, unchanged otherwise', async (t) => {
    const stored = { type: 'ClaimMade', data: made, metadata: { recordedAt: '2020-09-10T16:05:00Z' } };
    const upcast = upcastClaimEvent(stored);
    t.same(upcast, {
      type: 'ClaimMade',
      data: made,
      metadata: { recordedAt: '2020-09-10T16:05:00Z', schemaVersion: 1 },
    });
    t.ok(ClaimEvent.safeParse(upcast).success, 'reads as a current event');
    t.same(stored.metadata, { recordedAt: '2020-09-10T16:05:00Z' }, 'the stored event is not mutated');
  });

  t.test('an event without metadata gets some', async (t) => {
    const bare: StoredEventShape = { type: 'ClaimDenied', data: {} };
    t.same(upcastClaimEvent(bare).metadata, { schemaVersion: 1 });
  });

  t.test('current and unknown versions are returned as they are', async (t) => {
    const current = { type: 'ClaimMade', data: made, metadata: { schemaVersion: 1 } };
    t.equal(upcastClaimEvent(current), current);
    const newer = { type: 'ClaimMade', data: made, metadata: { schemaVersion: 2 } };
    t.equal(upcastClaimEvent(newer), newer);
  });

  t.test('events of unknown types are returned untouched', async (t) => {
    const foreign = { type: 'ActorEquivalenceClaimed', data: { a: 'x' } };
    t.equal(upcastClaimEvent(foreign), foreign);
  });
});
