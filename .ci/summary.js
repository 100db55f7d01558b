#!/usr/bin/env node
// Prints one "N passed, N failed" line for the whole CI run from the build log and jest's JUnit
// report, so the run's result is readable at a glance.
'use strict';
const fs = require('fs');

const [logFile, junitFile] = process.argv.slice(2);
const log = fs.readFileSync(logFile, 'utf8');
let passed = 0;
let failed = 0;
const parts = [];

if (junitFile && fs.existsSync(junitFile)) {
  const head = /<testsuites[^>]*>/.exec(fs.readFileSync(junitFile, 'utf8'));
  const attr = (name) => Number((new RegExp(`${name}="(\\d+)"`).exec(head ? head[0] : '') || [])[1] || 0);
  const total = attr('tests');
  const bad = attr('failures') + attr('errors');
  passed += total - bad;
  failed += bad;
  parts.push(`jest ${total - bad}/${total}`);
}
for (const m of log.matchAll(/^Ran (\d+) tests? in [\d.]+s\n+(OK|FAILED \((?:failures|errors)=(\d+)(?:, (?:failures|errors)=(\d+))?\))/gm)) {
  const total = Number(m[1]);
  const bad = m[2] === 'OK' ? 0 : Number(m[3] || 0) + Number(m[4] || 0);
  passed += total - bad;
  failed += bad;
  parts.push(`python ${total - bad}/${total}`);
}
for (const m of log.matchAll(/^rehearsal: (\d+)\/(\d+) run\(s\) passed/gm)) {
  passed += Number(m[1]);
  failed += Number(m[2]) - Number(m[1]);
  parts.push(`rehearsal runs ${m[1]}/${m[2]}`);
}
const packaging = [...log.matchAll(/^(ok    |FAILED) /gm)];
if (packaging.length) {
  const bad = packaging.filter((m) => m[1] === 'FAILED').length;
  passed += packaging.length - bad;
  failed += bad;
  parts.push(`packaging checks ${packaging.length - bad}/${packaging.length}`);
}
console.log(`(${parts.join('; ')})`);
console.log(`ci: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
