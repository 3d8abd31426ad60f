/**
 * Realistic `ClaimMade` events for benchmarks, shaped like `packages/domain/src/events.ts` (plain objects:
 * the store only sees JSON). Values vary with a sequence number so that rows are not identical.
 */
import { randomUUID } from 'node:crypto';

const CLAIMANTS = [
  { id: 'microsoft', name: 'Microsoft Threat Intelligence', kind: 'vendor' },
  { id: 'mandiant', name: 'Mandiant (Google Cloud)', kind: 'vendor' },
  { id: 'us-cisa', name: 'Cybersecurity and Infrastructure Security Agency', kind: 'government' },
  { id: 'ncsc-uk', name: 'National Cyber Security Centre', kind: 'government' },
];

const ACTORS = [
  {
    actor: { id: 'volt-typhoon', name: 'Volt Typhoon', aliases: ['Bronze Silhouette', 'Vanguard Panda'] },
    attribution: { state: 'CN', relation: 'sponsored-by' },
  },
  {
    actor: { id: 'apt28', name: 'APT28', aliases: ['Fancy Bear', 'Forest Blizzard', 'Sofacy'] },
    attribution: { state: 'RU', relation: 'directed-by' },
  },
  {
    actor: { id: 'lazarus-group', name: 'Lazarus Group', aliases: ['Diamond Sleet', 'Hidden Cobra'] },
    attribution: { state: 'KP', relation: 'operating-from' },
  },
];

const TARGETS = [
  ['communications', 'energy', 'water utilities'],
  ['defence contractors', 'government ministries'],
  ['cryptocurrency exchanges', 'financial services', 'media'],
];

const SUMMARY =
  'Initial access through edge devices, then living-off-the-land techniques and valid accounts to persist.';

const BASE_TIME = Date.parse('2025-03-01T09:00:00Z');

/**
 * A UUID laid out like a v7 (48-bit millisecond timestamp, then random bits). Not monotonic within one
 * millisecond, which benchmarks do not need.
 */
export function uuidv7Like(now = Date.now()) {
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}

/** `count` claim streams: `{ name: 'claim-<id>', claimId }`. */
export function claimStreams(count) {
  const now = Date.now();
  return Array.from({ length: count }, (_, index) => {
    const claimId = uuidv7Like(now + index);
    return { name: `claim-${claimId}`, claimId };
  });
}

/** The fields of a claim that vary with `sequence`, around the given actor, in the order ClaimMade has them. */
export function claimFields(sequence, actor) {
  return {
    claimant: CLAIMANTS[sequence % CLAIMANTS.length],
    actor,
    attribution: ACTORS[sequence % ACTORS.length].attribution,
    targets: TARGETS[sequence % TARGETS.length],
    summary: SUMMARY,
    source: {
      url: `https://security.example.com/blog/${sequence}/threat-actor-report`,
      title: 'Threat actor report',
    },
    statedAt: new Date(BASE_TIME + sequence * 60_000).toISOString(),
  };
}

/** A `ClaimMade` event with its metadata, ready for `appendToStream`. */
export function claimMadeEvent(claimId, sequence) {
  const data = { claimId, ...claimFields(sequence, ACTORS[sequence % ACTORS.length].actor) };
  const requestId = uuidv7Like();
  return {
    type: 'ClaimMade',
    data,
    metadata: {
      recordedAt: data.statedAt,
      principal: 'bench@attribution-ledger',
      requestId,
      correlationId: requestId,
      schemaVersion: 1,
    },
  };
}

/** How many distinct actors `claimRequestBody` spreads its claims over. */
export const REQUEST_ACTORS = 300;

/**
 * A `POST /v1/claims` body (ClaimMade data without `claimId` and `actor.id`), varied by `sequence`. Claims spread
 * over `REQUEST_ACTORS` actors (`Volt Typhoon 7`…), so no single actor's read model takes every write.
 */
export function claimRequestBody(sequence) {
  const { actor } = ACTORS[sequence % ACTORS.length];
  return claimFields(sequence, {
    name: `${actor.name} ${sequence % REQUEST_ACTORS}`,
    aliases: actor.aliases,
  });
}

/** The actor id (slug) of `claimRequestBody(sequence)`'s actor. */
export function requestActorId(sequence) {
  const { actor } = ACTORS[sequence % ACTORS.length];
  return `${actor.name} ${sequence % REQUEST_ACTORS}`.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}
