import type {
  ClaimCommand,
  ClaimEvent,
  ClaimEventOf,
  ClaimState,
  ConfirmClaim,
  DenyClaim,
  RetractClaim,
} from '@ledger/domain';
import { claimDecider, decide, evolve, initialState, OfficialParty } from '@ledger/domain';
import t from 'tap';
import {
  claimIds,
  cnMfa,
  confirmClaim,
  denyClaim,
  makeClaim,
  microsoft,
  msBlog,
  retractClaim,
  reuters,
  un,
  zirconiumInput,
} from './fixtures/claims.fixtures.js';
import { given } from './fixtures/decider-spec.fixtures.js';

const id = claimIds.zirconium;

const made: ClaimEventOf<'ClaimMade'> = {
  type: 'ClaimMade',
  data: {
    claimId: id,
    claimant: microsoft,
    spokesperson: { name: 'Tom Burt', title: 'Corporate Vice President, Customer Security & Trust' },
    actor: { id: 'zirconium', name: 'Zirconium', aliases: ['APT31'] },
    attribution: { state: 'CN', relation: 'operating-from' },
    targets: ['people associated with the Joe Biden for President campaign'],
    summary: 'Zirconium, operating from China, attacked people associated with the Biden campaign.',
    source: msBlog,
    statedAt: '2020-09-10T16:00:00Z',
  },
};
// The event a successful command records: its data as given (a confirmer narrowed to an official party).
function recorded(command: DenyClaim | ConfirmClaim | RetractClaim): ClaimEvent {
  switch (command.type) {
    case 'DenyClaim':
      return { type: 'ClaimDenied', data: command.data };
    case 'ConfirmClaim':
      return {
        type: 'ClaimConfirmed',
        data: { ...command.data, confirmer: OfficialParty.parse(command.data.confirmer) },
      };
    case 'RetractClaim':
      return { type: 'ClaimRetracted', data: command.data };
  }
}

const retracted = recorded(retractClaim(id));

t.test('claimDecider bundles the three functions', async (t) => {
  t.equal(claimDecider.decide, decide);
  t.equal(claimDecider.evolve, evolve);
  t.equal(claimDecider.initialState, initialState);
  t.same(initialState(), { status: 'none' });
});

t.test('MakeClaim', async (t) => {
  t.test('on a new stream, records the claim with the actor id derived from its name', async (t) => {
    given(t, []).when(makeClaim(id)).then([made]);
  });

  t.test('records aliases as [] when none were said', async (t) => {
    const input = zirconiumInput({ actor: { name: 'Volt Typhoon' } });
    const [event] = decide(makeClaim(id, input), initialState());
    t.match(event, {
      type: 'ClaimMade',
      data: { actor: { id: 'volt-typhoon', name: 'Volt Typhoon', aliases: [] } },
    });
  });

  t.test('refuses a claim that already exists', async (t) => {
    given(t, [made]).when(makeClaim(id)).then({ error: 'DomainRuleError', code: 'claim-already-exists' });
    given(t, [made, retracted])
      .when(makeClaim(id))
      .then({ error: 'DomainRuleError', code: 'claim-already-exists' });
  });
});

t.test('DenyClaim', async (t) => {
  t.test('on an active claim, records the denial', async (t) => {
    const command = denyClaim(id);
    given(t, [made])
      .when(command)
      .then([recorded(command)]);
  });

  t.test('at the very instant of the claim, in another zone, is fine', async (t) => {
    const command = denyClaim(id, { statedAt: '2020-09-11T00:00:00+08:00' });
    given(t, [made])
      .when(command)
      .then([recorded(command)]);
  });

  t.test('before the claim was stated, is refused (instants, not strings)', async (t) => {
    // As strings, "2020-09-10T23:59:59+08:00" sorts after "2020-09-10T16:00:00Z"; as an instant it is earlier.
    given(t, [made])
      .when(denyClaim(id, { statedAt: '2020-09-10T23:59:59+08:00' }))
      .then({ error: 'DomainRuleError', code: 'stated-before-claim' });
  });

  t.test('of an unknown claim, is not found', async (t) => {
    given(t, []).when(denyClaim(id)).then({ error: 'NotFoundError', code: 'claim-not-found' });
  });

  t.test('of a retracted claim, is refused', async (t) => {
    given(t, [made, retracted])
      .when(denyClaim(id))
      .then({ error: 'DomainRuleError', code: 'claim-retracted' });
  });
});

t.test('ConfirmClaim', async (t) => {
  t.test('by a government or an intergovernmental body, records the confirmation', async (t) => {
    const byDhs = confirmClaim(id);
    given(t, [made])
      .when(byDhs)
      .then([recorded(byDhs)]);
    const byUn = confirmClaim(id, { confirmer: un, caveats: undefined, official: undefined });
    given(t, [made])
      .when(byUn)
      .then([recorded(byUn)]);
  });

  t.test('by anyone else, is refused', async (t) => {
    for (const confirmer of [
      microsoft,
      reuters,
      { id: 'someone', name: 'Someone', kind: 'other' } as const,
    ]) {
      given(t, [made])
        .when(confirmClaim(id, { confirmer }))
        .then({ error: 'DomainRuleError', code: 'confirmer-not-official' });
    }
  });

  t.test('names the refused confirmer in the details', async (t) => {
    t.throws(() => decide(confirmClaim(id, { confirmer: reuters }), evolve(initialState(), made)), {
      code: 'confirmer-not-official',
      details: { claimId: id, confirmer: 'reuters', kind: 'media' },
    });
  });

  t.test('before the claim, of an unknown or of a retracted claim, is refused', async (t) => {
    given(t, [made])
      .when(confirmClaim(id, { statedAt: '2020-09-10T15:59:59.999Z' }))
      .then({ error: 'DomainRuleError', code: 'stated-before-claim' });
    given(t, []).when(confirmClaim(id)).then({ error: 'NotFoundError', code: 'claim-not-found' });
    given(t, [made, retracted])
      .when(confirmClaim(id))
      .then({ error: 'DomainRuleError', code: 'claim-retracted' });
  });

  t.test('a retracted claim is reported before a non-official confirmer', async (t) => {
    given(t, [made, retracted])
      .when(confirmClaim(id, { confirmer: reuters }))
      .then({ error: 'DomainRuleError', code: 'claim-retracted' });
  });
});

t.test('RetractClaim', async (t) => {
  t.test('by the claimant, records the retraction', async (t) => {
    const command = retractClaim(id);
    given(t, [made])
      .when(command)
      .then([recorded(command)]);
  });

  t.test('after denials and confirmations, is still fine', async (t) => {
    const denied = recorded(denyClaim(id));
    const confirmed = recorded(confirmClaim(id));
    const command = retractClaim(id);
    given(t, [made, denied, confirmed])
      .when(command)
      .then([recorded(command)]);
  });

  t.test('by anyone else, is refused', async (t) => {
    given(t, [made])
      .when(retractClaim(id, { by: cnMfa.id }))
      .then({ error: 'DomainRuleError', code: 'retraction-not-by-claimant' });
  });

  t.test('twice, is refused', async (t) => {
    given(t, [made, retracted])
      .when(retractClaim(id))
      .then({ error: 'DomainRuleError', code: 'claim-retracted' });
  });

  t.test('before the claim or of an unknown claim, is refused', async (t) => {
    given(t, [made])
      .when(retractClaim(id, { statedAt: '2020-01-01T00:00:00Z' }))
      .then({ error: 'DomainRuleError', code: 'stated-before-claim' });
    given(t, []).when(retractClaim(id)).then({ error: 'NotFoundError', code: 'claim-not-found' });
  });
});

t.test('decide rejects a command it does not know', async (t) => {
  const unknown = { type: 'ForgetClaim', data: { claimId: id } } as unknown as ClaimCommand;
  t.throws(() => decide(unknown, initialState()), TypeError);
});

t.test('evolve', async (t) => {
  t.test('tracks the claim through its life', async (t) => {
    const active = evolve(initialState(), made);
    t.match(active, { status: 'active', claimId: id, claimant: microsoft, statedAt: made.data.statedAt });
    const denied = evolve(active, recorded(denyClaim(id)));
    t.equal(denied, active, 'a denial changes nothing the rules read');
    const gone = evolve(active, retracted);
    t.same(gone, { ...active, status: 'retracted', retractedAt: '2020-10-01T00:00:00Z' });
    t.equal(evolve(gone, retracted), gone, 'a second retraction changes nothing');
  });

  t.test('ignores a retraction without a claim and events it does not know', async (t) => {
    const none: ClaimState = initialState();
    t.equal(evolve(none, retracted), none);
    const foreign = { type: 'ActorEquivalenceClaimed', data: {} } as unknown as ClaimEvent;
    const active = evolve(none, made);
    t.equal(evolve(active, foreign), active);
  });
});
