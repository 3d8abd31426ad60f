// tap `before` hook (.taprc): start the test suite's Kafka broker, or record why the Kafka suites skip.
// The work runs in a child with tap's coverage switched off: tap would otherwise count the broker script, whose
// skip branches run only on machines without Java, against the project's coverage. (No `??` or `if` here: tap
// measures this file's branches too.)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./kafka-test-broker.mjs', import.meta.url));
const result = spawnSync(process.execPath, [script, 'start'], {
  env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' },
  stdio: 'inherit',
});
process.exitCode = Number(result.status !== 0);
