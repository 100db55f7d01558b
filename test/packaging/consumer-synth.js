#!/usr/bin/env node
/*
 * Packaging test: install the tarball jsii-pacmak produced (exactly what npm publishes) into fresh
 * CDK apps outside the source tree (lowest supported aws-cdk-lib with cdk-nag 2, newest tested
 * aws-cdk-lib with cdk-nag 3), synthesize README's example, and check that every Lambda asset and
 * every ASL definition resolved from the installed package, that synth prints no deprecation, and
 * that the AwsSolutions pack reports 0 errors for the transfer.
 */
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { inspectAssembly } = require('./inspect-assembly');
const { root, pkg, TYPESCRIPT_RESOURCES, createChecker, builtArtifact, handlerEntries: listHandlerEntries, checkAssets } = require('./checks');

const tarball = builtArtifact('test:package', 'js', '.tgz', 'package:js');
const handlerEntries = listHandlerEntries();
const { check, finish } = createChecker('test:package');
// The other language targets compare with what this run writes, never with an earlier run's.
fs.rmSync(TYPESCRIPT_RESOURCES, { force: true });

// What ships: small, no source maps, nothing outside the allow-list (package.json `files`).
const MAX_TARBALL_BYTES = 8 * 1024 * 1024;
const tarballBytes = fs.statSync(tarball).size;
check(tarballBytes < MAX_TARBALL_BYTES, `the npm tarball is ${(tarballBytes / 1024 / 1024).toFixed(1)} MiB (limit 8 MiB)`);
const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  .split('\n').filter((f) => f && !f.endsWith('/')).map((f) => f.replace(/^package\//, ''));
const allowed = [/^lib\/.*\.(js|d\.ts)$/, /^lib\/asl\/[^/]+\.json$/, /^assets\/.*\/index\.js$/, /^glue\/(?!(.*\/)?(.*test_|local_run))[^/]*\.py$/,
  /^\.jsii$/, /^API\.md$/, /^README\.md$/, /^LICENSE$/, /^package\.json$/, /^node_modules\//];
const stray = listing.filter((f) => !allowed.some((re) => re.test(f)));
check(stray.length === 0, `only allow-listed files ship (${listing.length} files)${stray.length ? `; also: ${stray.slice(0, 10).join(', ')}` : ''}`);
check(!listing.some((f) => f.endsWith('.map')), 'no source map files ship');
const shippedJs = listing.filter((f) => /^(lib|assets)\/.*\.js$/.test(f));
const withInlineMap = [];
{
  const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'glacier-tarball-'));
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    for (const f of shippedJs) {
      if (fs.readFileSync(path.join(unpacked, 'package', f), 'utf8').includes('sourceMappingURL=data:')) withInlineMap.push(f);
    }
  } finally {
    fs.rmSync(unpacked, { recursive: true, force: true });
  }
}
check(shippedJs.length > 0 && withInlineMap.length === 0, `no inline source maps in the ${shippedJs.length} shipped .js files${withInlineMap.length ? `: ${withInlineMap.slice(0, 5).join(', ')}` : ''}`);

// Two consumers: the lowest aws-cdk-lib we support with cdk-nag 2, and the newest aws-cdk-lib we
// test with cdk-nag 3 (versions pinned in .projenrc.ts, passed in the task environment).
const consumers = [
  { name: 'lowest', cdk: pkg.devDependencies['aws-cdk-lib'], nag: pkg.devDependencies['cdk-nag'] },
  { name: 'newest', cdk: process.env.NEWEST_AWS_CDK_LIB, nag: process.env.NEWEST_CDK_NAG },
];
for (const c of consumers) {
  if (!c.cdk || !c.nag) {
    console.error(`test:package: no versions for the ${c.name} consumer (NEWEST_AWS_CDK_LIB / NEWEST_CDK_NAG come from the projen task)`);
    process.exit(1);
  }
}

const summaries = {};
for (const consumer of consumers) {
  const label = `[${consumer.name}: aws-cdk-lib ${consumer.cdk}, cdk-nag ${consumer.nag}]`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `glacier-consumer-${consumer.name}-`));
  try {
    fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, version: '0.0.0' }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball,
      `aws-cdk-lib@${consumer.cdk}`, `constructs@${pkg.devDependencies.constructs}`, `cdk-nag@${consumer.nag}`], { cwd: work, stdio: 'inherit' });

    const installed = path.join(work, 'node_modules', pkg.name);
    check(fs.existsSync(path.join(installed, 'lib', 'index.js')), `${label} the package installs with lib/index.js`);
    if (consumer.name === 'lowest') checkShippedFiles(installed);

    // README's example, with the AwsSolutions pack; deprecated aws-cdk-lib calls throw.
    fs.copyFileSync(path.join(__dirname, 'consumer-app.js'), path.join(work, 'app.js'));
    const nagMajor = consumer.nag.split('.')[0];
    const run = spawnSync(process.execPath, ['app.js', nagMajor], { cwd: work, encoding: 'utf8', env: { ...process.env, JSII_DEPRECATED: 'fail' } });
    process.stdout.write(run.stdout);
    check(run.status === 0, `${label} README's example synthesizes with JSII_DEPRECATED=fail${run.status === 0 ? '' : `: ${run.stderr.slice(-2000)}`}`);
    check(!/deprecated/i.test(run.stderr), `${label} no deprecation warning at synth`);
    if (run.status !== 0) continue;

    const outDir = path.join(work, 'cdk.out');
    const summary = inspectAssembly(outDir);
    summaries[consumer.name] = summary.resources;
    checkAssets(check, label, outDir, summary.template);
    const own = summary.nagErrors.GlacierMigration || [];
    check(own.length === 0, `${label} cdk-nag ${nagMajor} AwsSolutions: ${own.length} error(s) in the transfer's stack${own.length ? `:\n  ${own.slice(0, 20).join('\n  ')}` : ''}`);
    const control = summary.nagErrors.Control || [];
    check(control.length === 1 && /AwsSolutions-IAM5/.test(control[0]), `${label} cdk-nag ${nagMajor} ran: it reports the control stack's one unsuppressed wildcard (${control.join('; ') || 'nothing'})`);

    // The estimate CLI runs from the installed package (its bundled dependencies resolve).
    const help = execFileSync(process.execPath, [path.join(installed, pkg.bin[pkg.name]), '--help'], { cwd: work, encoding: 'utf8' });
    check(/estimate/.test(help), `${label} the cdk-glacier-vault-to-s3 CLI runs from the installed package`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
if (summaries.lowest && summaries.newest) {
  check(JSON.stringify(summaries.lowest) === JSON.stringify(summaries.newest), 'both consumers get the same functions, state machines and runbooks');
}
if (summaries.lowest) {
  const r = summaries.lowest;
  console.log(`test:package: ${r.functions.length} functions, ${r.stateMachines.length} state machines, ${r.runbooks.length} runbooks`);
  // The TypeScript consumer's resources, for the other language targets to compare with.
  fs.writeFileSync(TYPESCRIPT_RESOURCES, JSON.stringify(r, null, 2));
}

function checkShippedFiles(installed) {
  // Every ASL definition of the source tree ships with the package.
  const aslSource = path.join(root, 'src', 'asl');
  const aslFiles = fs.existsSync(aslSource) ? fs.readdirSync(aslSource).filter((f) => f.endsWith('.asl.json')) : [];
  for (const file of aslFiles) {
    check(fs.existsSync(path.join(installed, 'lib', 'asl', file)), `ASL definition ships: lib/asl/${file}`);
  }
  // Every Lambda bundle ships with the package.
  for (const entry of handlerEntries) {
    check(fs.existsSync(path.join(installed, 'assets', entry, 'index.js')), `Lambda bundle ships: assets/${entry}/index.js`);
  }
  // The minified bundles load on the Lambda's Node major and export the handler.
  const bundles = handlerEntries.map((entry) => path.join(installed, 'assets', entry, 'index.js'));
  const load = spawnSync(process.execPath, ['-e', `for (const f of ${JSON.stringify(bundles)}) {
    if (typeof require(f).handler !== 'function') throw new Error(f + ' exports no handler function');
  }`], { encoding: 'utf8' });
  check(load.status === 0, `all ${bundles.length} bundles load on Node ${process.version} and export handler${load.status === 0 ? '' : `: ${load.stderr.slice(-1000)}`}`);
}

finish('the published tarball synthesizes in a fresh consumer app');
