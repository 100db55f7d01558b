#!/usr/bin/env node
/*
 * Packaging test of the Python target: a fresh virtualenv outside the source tree gets aws-cdk-lib
 * and constructs from PyPI (every version pinned in requirements-python-consumer.txt) and the wheel
 * `package:python` built (dist/python), then runs README's example in Python (consumer_app.py).
 * The synthesized template must resolve every Lambda asset and ASL definition from the installed
 * wheel and hold the same functions, state machines and runbooks as the TypeScript consumer.
 * pip keeps its downloads where the task's PIP_CACHE_DIR says (.projenrc.ts: in the project).
 */
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { createChecker, builtArtifact, checkConsumerSynth } = require('./checks');

const NAME = 'test:package:python';
const wheel = builtArtifact(NAME, 'python', '.whl', 'package:python');
const requirements = path.join(__dirname, 'requirements-python-consumer.txt');
const { check, finish } = createChecker(NAME);
const pipEnv = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' };

const pinned = fs.readFileSync(requirements, 'utf8').split('\n').filter((l) => /^[A-Za-z]/.test(l));
const cdkPin = pinned.find((l) => l.startsWith('aws-cdk-lib=='));
const label = `[python: ${cdkPin}]`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'glacier-consumer-python-'));
const timings = [];
const timed = (what, fn) => {
  const start = Date.now();
  try {
    return fn();
  } finally {
    timings.push(`${what} ${((Date.now() - start) / 1000).toFixed(1)} s`);
  }
};
try {
  const python = path.join(work, 'venv', 'bin', 'python');
  timed('venv + pip install', () => {
    execFileSync('python3', ['-m', 'venv', path.join(work, 'venv')], { stdio: 'inherit' });
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--no-input', '--no-compile', '-r', requirements, wheel], { cwd: work, stdio: 'inherit', env: pipEnv });
  });
  const freeze = execFileSync(python, ['-m', 'pip', 'freeze'], { cwd: work, encoding: 'utf8' });
  check(freeze.includes(cdkPin), `${label} the pinned ${cdkPin} is what the wheel runs against (pip freeze)`);
  check(/^cdk-glacier-vault-to-s3 @ file:|^cdk-glacier-vault-to-s3==/m.test(freeze), `${label} the built wheel ${path.basename(wheel)} is installed`);

  // README's example in Python; deprecated aws-cdk-lib calls throw.
  fs.copyFileSync(path.join(__dirname, 'consumer_app.py'), path.join(work, 'app.py'));
  const run = timed('synth', () => spawnSync(python, ['app.py'], { cwd: work, encoding: 'utf8', env: { ...process.env, JSII_DEPRECATED: 'fail' } }));
  process.stdout.write(run.stdout);
  checkConsumerSynth(check, label, 'Python', run, work);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`${NAME}: ${timings.join(', ')}`);
finish('the built wheel synthesizes README\'s example in a fresh Python CDK app');
