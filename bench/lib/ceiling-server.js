/**
 * The HTTP ceilings of the `http` suite, each a process of its own like the ledger:
 *
 * - `bare`: fastify without logging or validation, `POST /v1/claims` parses the JSON body and answers 201 with a
 *   body shaped like the ledger's. The most any fastify route can do on this machine.
 * - `naive`: the same route, plus one better-sqlite3 INSERT per request in its own fsync'd transaction (WAL,
 *   `synchronous=FULL`, as the store): the naive ledger path, no group commit.
 *
 * `node bench/lib/ceiling-server.js <bare|naive> <port> <dataDir>`; sends `'ready'` over IPC once listening.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const [mode, port, dataDir] = process.argv.slice(2);
const app = Fastify({ logger: false });
let insert;
if (mode === 'naive') {
  const db = new Database(join(dataDir, 'naive.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, stream_id TEXT NOT NULL,
    revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT, created TEXT NOT NULL,
    UNIQUE (stream_id, revision))`);
  insert = db.prepare(
    'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, created) VALUES (?, ?, 0, ?, ?, ?, ?)',
  );
}

app.post('/v1/claims', async (request, reply) => {
  const claimId = randomUUID();
  const eventId = randomUUID();
  let position = 1;
  if (insert !== undefined) {
    const now = new Date().toISOString();
    const metadata = { recordedAt: now, principal: 'bench', requestId: request.id, schemaVersion: 1 };
    const data = JSON.stringify({ claimId, ...request.body });
    position = Number(
      insert.run(eventId, `claim-${claimId}`, 'ClaimMade', data, JSON.stringify(metadata), now)
        .lastInsertRowid,
    );
  }
  return reply.code(201).send({ claimId, eventId, position, revision: 0 });
});
app.get('/health', async () => ({ status: 'ok' }));

await app.listen({ port: Number(port), host: '127.0.0.1' });
process.send?.('ready');
process.once('SIGTERM', () => {
  app.close().then(() => process.exit(0));
});
