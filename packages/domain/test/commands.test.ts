import {
  ClaimCommand,
  ClaimInput,
  ConfirmationInput,
  DenialInput,
  MakeClaim,
  RetractionInput,
} from '@ledger/domain';
import t from 'tap';
import { claimIds, microsoft, zirconiumInput } from './fixtures/claims.fixtures.js';

const paths = (result: { error?: { issues: { path: PropertyKey[] }[] } }) =>
  result.error?.issues.map((issue) => issue.path.join('.')) ?? [];

t.test('ClaimInput', async (t) => {
  t.test('takes the ClaimMade data without ids', async (t) => {
    const input = ClaimInput.parse({ ...zirconiumInput(), targets: undefined });
    t.same(input.targets, []);
    t.same(input.actor, { name: 'Zirconium', aliases: ['APT31'] });
    t.same(ClaimInput.parse({ ...zirconiumInput(), actor: { name: 'Zirconium' } }).actor, {
      name: 'Zirconium',
    });
  });

  t.test('rejects ids chosen by the client', async (t) => {
    const withActorId = ClaimInput.safeParse({
      ...zirconiumInput(),
      actor: { id: 'zirconium', name: 'Zirconium' },
    });
    t.match(withActorId.error?.issues, [{ code: 'unrecognized_keys', keys: ['id'], path: ['actor'] }]);
    const withClaimId = ClaimInput.safeParse({ ...zirconiumInput(), claimId: claimIds.zirconium });
    t.match(withClaimId.error?.issues, [{ code: 'unrecognized_keys', keys: ['claimId'] }]);
  });

  t.test('names every bad field', async (t) => {
    const result = ClaimInput.safeParse({
      ...zirconiumInput(),
      claimant: { ...microsoft, kind: 'company' },
      actor: { name: '***' },
      attribution: { state: 'cn', relation: 'operating-from' },
      confidence: 101,
      statedAt: '2020-09-10T16:00:00',
    });
    t.same(paths(result).sort(), [
      'actor.name',
      'attribution.state',
      'claimant.kind',
      'confidence',
      'statedAt',
    ]);
  });
});

t.test('DenialInput, ConfirmationInput, RetractionInput', async (t) => {
  const statedAt = '2020-09-11T15:00:00+08:00';
  t.ok(DenialInput.safeParse({ denier: microsoft, statement: 'No.', statedAt }).success);
  t.notOk(
    DenialInput.safeParse({ denier: microsoft, statement: 'No.', statedAt, claimId: claimIds.zirconium })
      .success,
  );
  t.ok(
    ConfirmationInput.safeParse({ confirmer: microsoft, statement: 'Yes.', statedAt }).success,
    'any kind of confirmer passes the schema: the kind is a domain rule',
  );
  t.same(paths(RetractionInput.safeParse({ by: 'Microsoft', reason: '', statedAt })).sort(), [
    'by',
    'reason',
  ]);
});

t.test('commands are the inputs plus the claim id', async (t) => {
  const command = MakeClaim.parse({
    type: 'MakeClaim',
    data: { claimId: claimIds.zirconium, ...zirconiumInput() },
  });
  t.equal(Object.keys(command.data)[0], 'claimId', 'claimId first, as in the events');
  t.ok(ClaimCommand.safeParse(command).success);
  t.notOk(
    ClaimCommand.safeParse({ type: 'MakeClaim', data: zirconiumInput() }).success,
    'the claim id is required',
  );
  t.notOk(ClaimCommand.safeParse({ type: 'ForgetClaim', data: {} }).success);
});
