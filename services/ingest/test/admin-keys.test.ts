import t from 'tap';
import { claimBody, denialBody, setup } from './fixtures/ingest.fixtures.js';

const problemType = (code: string) => `https://attribution-ledger.dev/problems/${code}`;

const prcMfa = {
  id: 'prc-mfa',
  name: "Ministry of Foreign Affairs of the People's Republic of China",
  kind: 'government',
} as const;

t.test('the ingest app manages keys, and the keys it makes write as they are allowed to', async (t) => {
  const { app, post, keys, readStream } = await setup(t);
  const { claimId } = (await post('/v1/claims', claimBody())).json<{ claimId: string }>();

  const created = await post(
    '/v1/admin/keys',
    { name: 'PRC MFA', scopes: ['denials:write'], party: 'prc-mfa' },
    keys.admin,
  );
  t.equal(created.statusCode, 201);
  const mfa = created.json<{ keyId: string; key: string }>();

  const denial = await post(`/v1/claims/${claimId}/denials`, denialBody({ denier: prcMfa }), mfa.key);
  t.equal(denial.statusCode, 201, 'it denies as its own party');
  const [, denied] = await readStream(claimId);
  t.equal((denied!.metadata as { principal: string }).principal, mfa.keyId, 'the event names the new key');

  const asAnother = await post(`/v1/claims/${claimId}/denials`, denialBody(), mfa.key);
  t.equal(asAnother.statusCode, 403, 'it may not deny as cn-mfa');
  t.match(asAnother.json(), { type: problemType('party-mismatch') });

  const claim = await post('/v1/claims', claimBody(), mfa.key);
  t.equal(claim.statusCode, 403, 'it may not make claims');
  t.match(claim.json(), { type: problemType('insufficient-scope') });

  const listed = await app.inject({
    method: 'GET',
    url: '/v1/admin/keys',
    headers: { authorization: `Bearer ${keys.admin}` },
  });
  t.ok(
    listed.json<{ keys: { keyId: string }[] }>().keys.some((key) => key.keyId === mfa.keyId),
    'it is listed',
  );

  const revoked = await app.inject({
    method: 'DELETE',
    url: `/v1/admin/keys/${mfa.keyId}`,
    headers: { authorization: `Bearer ${keys.admin}` },
  });
  t.equal(revoked.statusCode, 204);
  const after = await post(
    `/v1/claims/${claimId}/denials`,
    denialBody({ denier: prcMfa, statedAt: '2020-09-12T08:00:00Z' }),
    mfa.key,
  );
  t.equal(after.statusCode, 401, 'revoked: 401 at once');
  t.equal((await readStream(claimId)).length, 2, 'nothing more was written');

  const forbidden = await post('/v1/admin/keys', { name: 'x', scopes: ['admin'] }, keys.writer.key);
  t.equal(forbidden.statusCode, 403, 'a writer may not make keys');
});

t.test('the ingest app limits each non-admin key', async (t) => {
  const { app, post, keys } = await setup(t, { rateLimit: 2 });
  t.equal((await post('/v1/claims', claimBody())).statusCode, 201);
  t.equal((await post('/v1/claims', claimBody({ statedAt: '2020-09-10T17:00:00Z' }))).statusCode, 201);
  const limited = await post('/v1/claims', claimBody({ statedAt: '2020-09-10T18:00:00Z' }));
  t.equal(limited.statusCode, 429);
  t.match(limited.headers['retry-after'], /^[1-9][0-9]*$/);
  t.match(limited.json(), { type: problemType('rate-limited'), status: 429 });

  const other = await post('/v1/claims', claimBody({ claimant: prcMfa }), keys.microsoft.key);
  t.equal(other.statusCode, 403, 'another key still reaches the route (and its own checks)');
  for (let i = 0; i < 3; i += 1) {
    t.equal(
      (await post('/v1/claims', claimBody({ statedAt: `2020-09-1${i}T00:00:00Z` }), keys.admin)).statusCode,
      201,
    );
  }
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
});

t.test('the admin routes are in the ingest OpenAPI document', async (t) => {
  const { app } = await setup(t);
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{
    paths: Record<string, object>;
  }>();
  t.ok(doc.paths['/v1/admin/keys']);
  t.ok(doc.paths['/v1/admin/keys/{keyId}']);
});
