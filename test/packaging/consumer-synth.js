#!/usr/bin/env node
/*
 * Packaging test: install the tarball jsii-pacmak produced (exactly what npm publishes) into a
 * fresh CDK app outside the source tree, synthesize a stack that uses the construct, and check
 * that every Lambda asset and every ASL definition resolved from the installed package.
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const pkg = require(path.join(root, 'package.json'));
const distDir = path.join(root, 'dist', 'js');
const tarballs = fs.existsSync(distDir) ? fs.readdirSync(distDir).filter((f) => f.endsWith('.tgz')) : [];
if (tarballs.length !== 1) {
  console.error(`test:package: expected exactly one tarball in ${distDir} (run the package task first), found ${tarballs.length}`);
  process.exit(1);
}
const tarball = path.join(distDir, tarballs[0]);

const failures = [];
const check = (ok, message) => {
  console.log(`${ok ? 'ok    ' : 'FAILED'} ${message}`);
  if (!ok) failures.push(message);
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'glacier-consumer-'));
try {
  const cdkVersion = pkg.devDependencies['aws-cdk-lib'];
  const constructsVersion = pkg.devDependencies.constructs;
  fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, version: '0.0.0' }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error',
    tarball, `aws-cdk-lib@${cdkVersion}`, `constructs@${constructsVersion}`], { cwd: work, stdio: 'inherit' });

  const installed = path.join(work, 'node_modules', pkg.name);
  check(fs.existsSync(path.join(installed, 'lib', 'index.js')), 'the package installs with lib/index.js');

  // Every ASL definition of the source tree ships with the package.
  const aslSource = path.join(root, 'src', 'asl');
  const aslFiles = fs.existsSync(aslSource) ? fs.readdirSync(aslSource).filter((f) => f.endsWith('.asl.json')) : [];
  for (const file of aslFiles) {
    check(fs.existsSync(path.join(installed, 'lib', 'asl', file)), `ASL definition ships: lib/asl/${file}`);
  }
  // Every Lambda bundle ships with the package.
  const handlerEntries = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.lambda.ts')) handlerEntries.push(path.relative(path.join(root, 'src'), full).replace(/\.ts$/, ''));
    }
  };
  walk(path.join(root, 'src'));
  for (const entry of handlerEntries) {
    check(fs.existsSync(path.join(installed, 'assets', entry, 'index.js')), `Lambda bundle ships: assets/${entry}/index.js`);
  }

  // A consumer app written the way the README shows it.
  fs.writeFileSync(path.join(work, 'app.js'), `
const { App, Stack } = require('aws-cdk-lib');
const s3 = require('aws-cdk-lib/aws-s3');
const { GlacierVaultToS3Transfer } = require('${pkg.name}');
const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'GlacierMigration', { env: { account: '111122223333', region: 'eu-west-1' } });
new GlacierVaultToS3Transfer(stack, 'Transfer', {
  destinationBucket: s3.Bucket.fromBucketName(stack, 'Destination', 'my-archive-bucket'),
  destinationPrefix: 'glacier',
  allowedVaultNames: ['photos'],
});
app.synth();
`);
  execFileSync(process.execPath, ['app.js'], { cwd: work, stdio: 'inherit' });
  const outDir = path.join(work, 'cdk.out');
  const template = JSON.parse(fs.readFileSync(path.join(outDir, 'GlacierMigration.template.json'), 'utf8'));
  const assets = JSON.parse(fs.readFileSync(path.join(outDir, 'GlacierMigration.assets.json'), 'utf8'));

  const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  check(functions.length >= handlerEntries.length, `template has ${functions.length} functions for ${handlerEntries.length} handlers`);
  for (const [id, fn] of functions) {
    const key = fn.Properties.Code && fn.Properties.Code.S3Key;
    const hash = typeof key === 'string' ? key.replace(/\.zip$/, '') : undefined;
    const asset = hash && assets.files[hash];
    const source = asset && path.join(outDir, asset.source.path);
    check(Boolean(source && fs.existsSync(path.join(source, 'index.js'))), `function ${id} resolves to a bundled asset with index.js`);
  }
  const stateMachines = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  for (const [id, sm] of stateMachines) {
    check(sm.Properties.DefinitionString !== undefined, `state machine ${id} has a definition loaded from the package`);
  }

  // The estimate CLI runs from the installed package (its bundled dependencies resolve).
  const help = execFileSync(process.execPath, [path.join(installed, pkg.bin[pkg.name]), '--help'], { cwd: work, encoding: 'utf8' });
  check(/estimate/.test(help), 'the cdk-glacier-vault-to-s3 CLI runs from the installed package');
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`test:package: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('test:package: the published tarball synthesizes in a fresh consumer app');
