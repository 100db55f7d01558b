#!/usr/bin/env node
/*
 * Packaging test of the Go target: a fresh Go module outside the source tree requires aws-cdk-go,
 * constructs-go and the jsii runtime for Go from the Go module proxy (versions pinned below) and
 * the bindings `package:go` generated in dist/go/<packageName> (through a `replace` directive: the
 * module is not published), then builds and runs README's example in Go (consumer_app.go).
 * The synthesized template must resolve every Lambda asset and ASL definition from the bindings
 * (they embed the npm tarball) and hold the same functions, state machines and runbooks as the
 * TypeScript consumer. Go's caches are the task's GOMODCACHE and GOCACHE (.projenrc.ts: in the
 * project), where package:go already downloaded the modules and compiled aws-cdk-go's packages.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { pkg, createChecker, builtArtifact, checkConsumerSynth } = require('./checks');

const NAME = 'test:package:go';
const { moduleName, packageName } = pkg.jsii.targets.go;
const libraryModule = `${moduleName}/${packageName}`;
const libraryGoMod = builtArtifact(NAME, path.join('go', packageName), 'go.mod', 'package:go');
for (const name of ['GOMODCACHE', 'GOCACHE']) {
  if (!process.env[name] || !path.isAbsolute(process.env[name])) {
    console.error(`${NAME}: ${name} is ${process.env[name] ? `not absolute (${process.env[name]})` : 'not set'} (run it as \`npx projen ${NAME}\`, whose task sets it to a folder under .cache/go)`);
    process.exit(1);
  }
}

// The consumer's one pin: aws-cdk-go at the newest aws-cdk-lib the TypeScript consumer tests
// (NEWEST_AWS_CDK_LIB, from the task's env), NOT at the library's peer floor (2.224.0) as the
// Python and Java consumers: the bindings require constructs-go at our constructs version (10.5.1),
// and aws-cdk-go releases generated against constructs 10.4 (2.224.0; 2.230.0's go.mod asks for
// constructs 10.4.2) do not compile with constructs 10.5 ("ambiguous selector ... With" in every
// Cfn* type); 2.240.0 compiles, but its own aws-cdk-lib passes the deprecated
// GrantOnPrincipalOptions#scope, which JSII_DEPRECATED=fail rejects. constructs-go and the jsii
// runtime are what aws-cdk-go and the bindings require (Go's minimal version selection).
const AWS_CDK_GO = process.env.NEWEST_AWS_CDK_LIB;
if (!AWS_CDK_GO) {
  console.error(`${NAME}: NEWEST_AWS_CDK_LIB is not set (run it as \`npx projen ${NAME}\`, whose task sets it)`);
  process.exit(1);
}
const AWS_CDK = 'github.com/aws/aws-cdk-go/awscdk/v2';
const SELECTED = ['github.com/aws/constructs-go/constructs/v10', 'github.com/aws/jsii-runtime-go'];
const label = `[go: aws-cdk-go ${AWS_CDK_GO}]`;
const { check, finish } = createChecker(NAME);

const generated = fs.readFileSync(libraryGoMod, 'utf8');
const goDirective = /^go (\S+)$/m.exec(generated);
check(new RegExp(`^module ${libraryModule.replace(/[.]/g, '\\.')}$`, 'm').test(generated),
  `${label} the bindings in ${path.dirname(libraryGoMod)} are the module ${libraryModule} (package.json jsii.targets.go)`);
if (!goDirective) {
  console.error(`${NAME}: ${libraryGoMod} has no \`go\` directive`);
  process.exit(1);
}
const goMod = `module consumer

go ${goDirective[1]}

require (
	${libraryModule} v${pkg.version}
	${AWS_CDK} v${AWS_CDK_GO}
)

// The bindings package:go generated (not published): the module is read from dist/go.
replace ${libraryModule} => ${path.dirname(libraryGoMod)}
`;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'glacier-consumer-go-'));
const timings = [];
const run = (what, command, args, env = process.env) => {
  const start = Date.now();
  const result = spawnSync(command, args, { cwd: work, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  timings.push(`${what} ${((Date.now() - start) / 1000).toFixed(1)} s`);
  if (result.error) result.stderr = `${result.stderr || ''}${result.error.message}`;
  return result;
};
const tail = (result) => `: ${`${result.stdout || ''}${result.stderr || ''}`.slice(-2000)}`;
try {
  fs.writeFileSync(path.join(work, 'go.mod'), goMod);
  fs.copyFileSync(path.join(__dirname, 'consumer_app.go'), path.join(work, 'main.go'));
  check(fs.readFileSync(path.join(work, 'main.go'), 'utf8').includes(`"${libraryModule}"`),
    `${label} the example imports the construct from the bindings' module ${libraryModule}`);

  // go.sum for the whole build list (and the downloads package:go did not need).
  const tidy = run('go mod tidy (downloads)', 'go', ['mod', 'tidy']);
  check(tidy.status === 0, `${label} go mod tidy resolves the pinned modules and the bindings${tidy.status === 0 ? '' : tail(tidy)}`);
  if (tidy.status === 0) {
    // What the app is built with: the pins, unless something in the build list asked for more.
    const list = run('go list -m', 'go', ['list', '-m', '-f', '{{.Path}} {{.Version}}{{with .Replace}} => {{.Path}}{{end}}', 'all']);
    const modules = new Map(list.stdout.trim().split('\n').map((line) => [line.split(' ')[0], line.slice(line.indexOf(' ') + 1)]));
    check(modules.get(AWS_CDK) === `v${AWS_CDK_GO}`,
      `${label} ${AWS_CDK} v${AWS_CDK_GO} is what the app is built with (got ${modules.get(AWS_CDK) ?? 'none'}; ${SELECTED.map((mod) => `${mod} ${modules.get(mod) ?? 'none'}`).join(', ')})`);
    check(modules.get(libraryModule) === `v${pkg.version} => ${path.dirname(libraryGoMod)}`,
      `${label} ${libraryModule} is read from dist/go (got ${modules.get(libraryModule) ?? 'none'})`);

    const build = run('go build', 'go', ['build', '-o', 'consumer-app', '.']);
    check(build.status === 0, `${label} README's example compiles against the bindings in dist/go${build.status === 0 ? '' : tail(build)}`);
    if (build.status === 0) {
      // README's example in Go; deprecated aws-cdk-lib calls throw.
      const synth = run('synth', path.join(work, 'consumer-app'), [], { ...process.env, JSII_DEPRECATED: 'fail' });
      if (synth.stdout.trim()) process.stdout.write(synth.stdout);
      checkConsumerSynth(check, label, 'Go', synth, work);
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`${NAME}: ${timings.join(', ')}`);
finish('the generated Go module synthesizes README\'s example in a fresh Go CDK app');
