/**
 * Runs benchmark suites by name, `node bench/run.js store`, or every suite when none is named. Run it through
 * `npm run bench -- <suite>`, which builds the packages first: suites import them from their `dist/`.
 * Benchmarks are not part of `npm test`: their figures depend on the machine, so they print Markdown tables
 * of rates and same-run ratios instead of passing or failing.
 */
import { environmentHeader } from './lib/environment.js';

const SUITES = {
  store: () => import('./store.bench.js'),
  http: () => import('./http.bench.js'),
  emmett: () => import('./emmett.bench.js'),
  rebuild: () => import('./rebuild.bench.js'),
  queries: () => import('./queries.bench.js'),
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !Object.hasOwn(SUITES, name));
if (unknown.length > 0) {
  console.error(`unknown suite: ${unknown.join(', ')} (known: ${Object.keys(SUITES).join(', ')})`);
  process.exit(2);
}
const names = requested.length > 0 ? requested : Object.keys(SUITES);

console.log(environmentHeader(names));
for (const name of names) {
  const suite = await SUITES[name]();
  await suite.run();
  console.log(''); // a blank line, so that the next suite's heading starts a Markdown block of its own
}
