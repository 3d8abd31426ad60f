import { PassThrough } from 'node:stream';
import { createLogger, REDACTED } from '@ledger/config';
import t from 'tap';

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line));
  });
  return { stream, lines };
}

t.test('lines carry the service and the level is configured', async (t) => {
  const { stream, lines } = capture();
  const log = createLogger({ logLevel: 'info' }, 'ingest', stream);
  log.debug('hidden');
  log.child({ component: 'claims' }).info({ claimId: 'c1' }, 'claim appended');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 1);
  t.match(lines[0], { service: 'ingest', component: 'claims', claimId: 'c1', msg: 'claim appended' });
});

t.test('authorization headers and keys are redacted', async (t) => {
  const { stream, lines } = capture();
  const log = createLogger({ logLevel: 'trace' }, 'ingest', stream);
  const secret = 'ldg_admin_supersecretsupersecretsupersecret';
  log.info({ req: { headers: { authorization: `Bearer ${secret}` } } }, 'request');
  log.info({ created: { key: secret, keyId: 'k1' }, config: { adminKey: secret }, secret }, 'key created');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 2);
  t.notMatch(JSON.stringify(lines), secret);
  t.equal((lines[0] as { req: { headers: { authorization: string } } }).req.headers.authorization, REDACTED);
  t.match(lines[1], {
    created: { key: REDACTED, keyId: 'k1' },
    config: { adminKey: REDACTED },
    secret: REDACTED,
  });
});

t.test('without a destination it writes to stdout', async (t) => {
  const log = createLogger({ logLevel: 'silent' }, 'ingest');
  t.equal(log.level, 'silent');
});
