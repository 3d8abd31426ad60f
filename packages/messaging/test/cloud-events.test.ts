import type { RecordedEvent } from '@ledger/event-store';
import {
  DEFAULT_CLOUDEVENT_SOURCE,
  fromKafkaRecord,
  isPublishedType,
  LEDGER_TOPICS,
  toKafkaRecord,
} from '@ledger/messaging';
import t from 'tap';

const denial: RecordedEvent = {
  id: '0190c1a2-0000-7000-8000-000000000042',
  streamId: 'claim-zirconium-1',
  revision: 1n,
  type: 'ClaimDenied',
  data: {
    claimId: 'zirconium-1',
    denier: { id: 'cn-mfa', name: 'Ministry of Foreign Affairs of the PRC', kind: 'government' },
    statement: 'China firmly opposes all forms of cyber attacks.',
    statedAt: '2020-09-11T08:00:00Z',
  },
  metadata: { recordedAt: '2020-09-11T09:30:00.123Z', principal: 'key-1', schemaVersion: 1 },
  position: { commit: 9_007_199_254_740_993n, prepare: 9_007_199_254_740_993n },
  created: new Date('2020-09-11T09:30:00.200Z'),
};

t.test('a denial becomes a binary-mode CloudEvent on attribution.denials, keyed by its actor', async (t) => {
  const record = toKafkaRecord(denial, 'zirconium');
  t.equal(record.topic, 'attribution.denials');
  t.equal(record.key, 'zirconium');
  t.same(JSON.parse(record.value), denial.data, 'the value is the event data as JSON');
  t.same(record.headers, {
    ce_specversion: '1.0',
    ce_id: denial.id,
    ce_type: 'dev.attribution-ledger.ClaimDenied',
    ce_source: DEFAULT_CLOUDEVENT_SOURCE,
    ce_subject: 'zirconium-1',
    ce_time: '2020-09-11T09:30:00.123Z',
    'content-type': 'application/json',
    // A position past 2^53 keeps every digit: it travels as text.
    ce_ledgerposition: '9007199254740993',
    ce_actorid: 'zirconium',
  });
});

t.test('each claim event type has its topic; the prefix and source are the deployment’s', async (t) => {
  const topics = ['ClaimMade', 'ClaimDenied', 'ClaimConfirmed', 'ClaimRetracted'].map(
    (type) =>
      toKafkaRecord({ ...denial, type }, 'a', { topicPrefix: 'prod.', source: 'urn:ledger:eu' }).topic,
  );
  t.same(
    topics,
    LEDGER_TOPICS.map((topic) => `prod.${topic}`),
  );
  t.same(LEDGER_TOPICS, [
    'attribution.claims',
    'attribution.denials',
    'attribution.confirmations',
    'attribution.retractions',
  ]);
  t.equal(toKafkaRecord(denial, 'a', { source: 'urn:ledger:eu' }).headers.ce_source, 'urn:ledger:eu');
});

t.test('other event types are not published', async (t) => {
  t.notOk(isPublishedType('SettingsChanged'));
  t.notOk(isPublishedType('toString'), 'not fooled by Object.prototype');
  t.ok(isPublishedType('ClaimRetracted'));
  t.throws(() => toKafkaRecord({ ...denial, type: 'SettingsChanged' }, 'a'), TypeError);
});

t.test(
  'without a recordedAt the store’s commit time is ce_time; without a claim id there is no subject',
  async (t) => {
    const record = toKafkaRecord({ ...denial, metadata: undefined, data: { other: 1 } }, 'a');
    t.equal(record.headers.ce_time, '2020-09-11T09:30:00.200Z');
    t.notOk('ce_subject' in record.headers);
  },
);

t.test('a consumer reads the record back, with kafkajs Buffers for headers and value', async (t) => {
  const record = toKafkaRecord(denial, 'zirconium');
  const headers = Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, Buffer.from(v)]));
  const event = fromKafkaRecord({ value: Buffer.from(record.value), headers });
  t.same(event, {
    id: denial.id,
    type: 'ClaimDenied',
    source: DEFAULT_CLOUDEVENT_SOURCE,
    subject: 'zirconium-1',
    time: '2020-09-11T09:30:00.123Z',
    position: Number(denial.position.commit),
    actorId: 'zirconium',
    data: denial.data,
  });
  t.equal(
    fromKafkaRecord({ value: record.value, headers: { ...record.headers, ce_id: [Buffer.from('x')] } })?.id,
    'x',
  );
});

t.test('records that are not the ledger’s CloudEvents read back as undefined', async (t) => {
  const { headers, value } = toKafkaRecord(denial, 'zirconium');
  t.equal(fromKafkaRecord({ value, headers: undefined }), undefined, 'no headers');
  t.equal(
    fromKafkaRecord({ value, headers: { ...headers, ce_specversion: '0.3' } }),
    undefined,
    'another spec',
  );
  t.equal(fromKafkaRecord({ value: null, headers }), undefined, 'a tombstone');
  t.equal(fromKafkaRecord({ value: '{not json', headers }), undefined, 'a value that is not JSON');
  const foreign = fromKafkaRecord({
    value: '{}',
    headers: { ce_specversion: '1.0', ce_id: 'x', ce_type: 'com.example.Other' },
  });
  t.same(
    { type: foreign?.type, source: foreign?.source, time: foreign?.time, actorId: foreign?.actorId },
    { type: 'com.example.Other', source: '', time: '', actorId: '' },
    'another producer’s CloudEvent keeps its own type',
  );
  t.ok(Number.isNaN(foreign?.position));
});
