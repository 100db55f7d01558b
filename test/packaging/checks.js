/*
 * What every packaging test (npm tarball, Python wheel, Maven artifact) shares: the ok/FAILED
 * check lines (.ci/summary.js counts them), the one built artifact of a dist folder, the handler
 * entries of the source tree, the asset checks of a synthesized template, and the TypeScript
 * consumer's resources that the other languages must match.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { inspectAssembly } = require('./inspect-assembly');

const root = path.resolve(__dirname, '..', '..');
const pkg = require(path.join(root, 'package.json'));
/** Written by the TypeScript consumer (consumer-synth.js), read by the other language targets. */
const TYPESCRIPT_RESOURCES = path.join(root, 'dist', 'consumer-resources.json');

function createChecker(name) {
  const failures = [];
  const check = (ok, message) => {
    console.log(`${ok ? 'ok    ' : 'FAILED'} ${message}`);
    if (!ok) failures.push(message);
  };
  /** Ends the process: exit 1 with the count of failed checks, else prints `success`. */
  const finish = (success) => {
    if (failures.length > 0) {
      console.error(`${name}: ${failures.length} check(s) failed`);
      process.exit(1);
    }
    console.log(`${name}: ${success}`);
  };
  return { check, finish, failures };
}

/** The one file in `dist/<dir>` whose name ends with `suffix`; exits with a clear error otherwise. */
function builtArtifact(name, dir, suffix, task) {
  const full = path.join(root, 'dist', dir);
  const found = fs.existsSync(full) ? fs.readdirSync(full).filter((f) => f.endsWith(suffix)) : [];
  if (found.length !== 1) {
    console.error(`${name}: expected exactly one *${suffix} in ${full} (run \`npx projen ${task}\` first), found ${found.length}${found.length ? `: ${found.join(', ')}` : ''}`);
    process.exit(1);
  }
  return path.join(full, found[0]);
}

/** Every Lambda entry point of the source tree, as `handlers/<stage>/<name>.lambda`. */
function handlerEntries() {
  const entries = [];
  (function walk(dir) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.lambda.ts')) entries.push(path.relative(path.join(root, 'src'), full).replace(/\.ts$/, ''));
    }
  })(path.join(root, 'src'));
  return entries;
}

/** Every function's code resolves to a bundled asset with index.js; every state machine has its definition. */
function checkAssets(check, label, outDir, template) {
  const handlers = handlerEntries().length;
  const assets = JSON.parse(fs.readFileSync(path.join(outDir, 'GlacierMigration.assets.json'), 'utf8'));
  const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  check(functions.length >= handlers, `${label} template has ${functions.length} functions for ${handlers} handlers`);
  let resolved = 0;
  for (const [id, fn] of functions) {
    const key = fn.Properties.Code && fn.Properties.Code.S3Key;
    const hash = typeof key === 'string' ? key.replace(/\.zip$/, '') : undefined;
    const asset = hash && assets.files[hash];
    const source = asset && path.join(outDir, asset.source.path);
    if (source && fs.existsSync(path.join(source, 'index.js'))) resolved++;
    else check(false, `${label} function ${id} resolves to a bundled asset with index.js`);
  }
  check(resolved === functions.length, `${label} ${resolved} of ${functions.length} functions resolve to a bundled asset with index.js`);
  const stateMachines = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  check(stateMachines.length > 0 && stateMachines.every(([, sm]) => sm.Properties.DefinitionString !== undefined),
    `${label} ${stateMachines.length} state machines have definitions loaded from the package`);
}

/**
 * The same functions, state machines and runbooks (logical ids) as the TypeScript consumer of
 * the npm tarball, which `test:package` ran first.
 */
function checkSameAsTypeScript(check, label, resources) {
  if (!fs.existsSync(TYPESCRIPT_RESOURCES)) {
    check(false, `${label} ${TYPESCRIPT_RESOURCES} exists (written by \`npx projen test:package\`, which must run first)`);
    return;
  }
  const expected = JSON.parse(fs.readFileSync(TYPESCRIPT_RESOURCES, 'utf8'));
  for (const kind of Object.keys(expected)) {
    const want = expected[kind];
    const got = resources[kind] || [];
    const missing = want.filter((id) => !got.includes(id));
    const extra = got.filter((id) => !want.includes(id));
    check(missing.length === 0 && extra.length === 0,
      `${label} the same ${want.length} ${kind} as the TypeScript consumer (got ${got.length})` +
      `${missing.length ? `; missing: ${missing.slice(0, 5).join(', ')}` : ''}${extra.length ? `; extra: ${extra.slice(0, 5).join(', ')}` : ''}`);
  }
}

/**
 * README's example run in another language (`run`: the spawnSync result of the app, run in `work`
 * with JSII_DEPRECATED=fail): it exits 0 without a deprecation warning, and its cloud assembly
 * (work/cdk.out) resolves every asset and holds the TypeScript consumer's resources.
 */
function checkConsumerSynth(check, label, language, run, work) {
  const output = `${run.stdout || ''}${run.stderr || ''}`;
  check(run.status === 0, `${label} README's example synthesizes in ${language} with JSII_DEPRECATED=fail${run.status === 0 ? '' : `: ${output.slice(-2000)}`}`);
  check(!/deprecated/i.test(output), `${label} no deprecation warning at synth${/deprecated/i.test(output) ? `: ${output.slice(-1000)}` : ''}`);
  if (run.status !== 0) return;
  const outDir = path.join(work, 'cdk.out');
  const summary = inspectAssembly(outDir);
  checkAssets(check, label, outDir, summary.template);
  checkSameAsTypeScript(check, label, summary.resources);
}

module.exports = { root, pkg, TYPESCRIPT_RESOURCES, createChecker, builtArtifact, handlerEntries, checkAssets, checkSameAsTypeScript, checkConsumerSynth };
