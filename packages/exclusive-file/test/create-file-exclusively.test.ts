import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFileExclusively } from '@ledger/exclusive-file';
import t from 'tap';

t.test('creates the file with its content and exactly the mode asked for', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'admin.key');
  const umask = process.umask(0o077);
  t.teardown(() => {
    process.umask(umask);
  });
  t.equal(createFileExclusively(path, 'secret\n', { mode: 0o640 }), true);
  t.equal(readFileSync(path, 'utf8'), 'secret\n');
  t.equal(statSync(path).mode & 0o777, 0o640, 'not masked by the umask');
  t.same(readdirSync(dir), ['admin.key'], 'no temporary file left');
});

t.test('an existing file is kept as it is', async (t) => {
  const dir = t.testdir({ 'admin.key': 'first\n' });
  const path = join(dir, 'admin.key');
  t.equal(createFileExclusively(path, Buffer.from('second\n'), { mode: 0o600 }), false);
  t.equal(readFileSync(path, 'utf8'), 'first\n');
  t.same(readdirSync(dir), ['admin.key'], 'no temporary file left');
});

t.test('a write that fails after the temporary file exists leaves nothing behind', async (t) => {
  const dir = t.testdir();
  // Not a string or bytes: the write throws once the temporary file is open, as a full disk would.
  const unwritable = 42 as unknown as string;
  t.throws(() => createFileExclusively(join(dir, 'admin.key'), unwritable, { mode: 0o600 }), {
    code: 'ERR_INVALID_ARG_TYPE',
  });
  t.same(readdirSync(dir), [], 'neither the file nor a temporary one holding its content');
});

t.test('a directory that does not exist is an error', async (t) => {
  t.throws(() => createFileExclusively(join(t.testdir(), 'missing', 'f'), 'x', { mode: 0o600 }), {
    code: 'ENOENT',
  });
});

t.test('processes racing to create one file: one wins, every reader sees its whole content', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'integrity.key');
  const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const racer = (index: number) =>
    new Promise<{ created: boolean; read: string }>((resolve, reject) => {
      const content = `${String(index).repeat(64 * 1024)}\n`;
      const script = `
        import { readFileSync } from 'node:fs';
        import { createFileExclusively } from ${JSON.stringify(dist)};
        const created = createFileExclusively(${JSON.stringify(path)}, ${JSON.stringify(content)}, { mode: 0o600 });
        process.stdout.write(JSON.stringify({ created, read: readFileSync(${JSON.stringify(path)}, 'utf8') }));`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
      });
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}`)),
      );
    });
  const results = await Promise.all(Array.from({ length: 6 }, (_, index) => racer(index)));
  t.equal(results.filter((result) => result.created).length, 1, 'exactly one created it');
  const final = readFileSync(path, 'utf8');
  t.equal(final.length, 64 * 1024 + 1, 'whole');
  t.ok(
    results.every((result) => result.read === final),
    'every process read the same, whole content',
  );
  t.same(readdirSync(dir), ['integrity.key'], 'no temporary file left');
});
