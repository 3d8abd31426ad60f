#!/usr/bin/env node
// Prints the plain `N passed, M failed` line CI reads, counting the leaf assertions of every test file in
// the TAP that tap saved under .tap/test-results (tap's own summary counts files, not assertions).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from 'tap-parser';

// Usage: node scripts/tap-summary.mjs [results-dir] [exit status of the run]
const dir = process.argv[2] ?? '.tap/test-results';
const files = [];
const walk = (path) => {
  for (const name of readdirSync(path)) {
    const full = join(path, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (name.endsWith('.tap')) files.push(full);
  }
};
try {
  walk(dir);
} catch {
  // No results at all: the run did not get as far as the tests.
}

let passed = 0;
let failed = 0;
let skipped = 0;
// A subtest shows up twice: as a child parser, and as one ok/not-ok line in its parent. Only leaves are
// assertions, so each level counts its own points minus its children.
function track(parser) {
  const own = { pass: 0, fail: 0, skip: 0 };
  const children = [];
  parser.on('assert', (result) => {
    if (result.skip || result.todo) own.skip += 1;
    else if (result.ok) own.pass += 1;
    else own.fail += 1;
  });
  parser.on('child', (child) => {
    const entry = { counts: track(child), ok: true };
    child.on('complete', (results) => {
      entry.ok = results.ok;
    });
    children.push(entry);
  });
  return () => {
    let pass = own.pass;
    let fail = own.fail;
    let skip = own.skip;
    for (const child of children) {
      const counts = child.counts();
      pass += counts.pass;
      fail += counts.fail;
      skip += counts.skip;
      if (child.ok) pass -= 1;
      else fail -= 1;
    }
    return { pass: Math.max(pass, 0), fail: Math.max(fail, 0), skip };
  };
}

for (const file of files) {
  const parser = new Parser();
  const counts = track(parser);
  parser.end(readFileSync(file, 'utf8'));
  const { pass, fail, skip } = counts();
  passed += pass;
  failed += fail;
  skipped += skip;
}
// A run that failed before or outside the tests (install, lint, type-check, coverage) must not read as green.
const exitStatus = Number(process.argv[3] ?? 0);
if (exitStatus !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
