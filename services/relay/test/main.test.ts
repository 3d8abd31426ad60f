import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

t.test('the relay alone refuses to start without KAFKA_BROKERS, naming it, exit 1', async (t) => {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', LEDGER_DATA_DIR: t.testdir(), PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  t.equal(code, 1);
  t.match(stderr, /^relay: .*KAFKA_BROKERS: is required/m);
  t.notMatch(stderr, /\n\s+at /, 'one line, no stack trace');
});
