import { awscdk, javascript, JsonFile } from 'projen';

/*
 * Versions are pinned exactly: Lambda bundles are built from them at OUR build time and shipped
 * in the npm tarball, so what we test is byte-for-byte what users deploy.
 *
 * One version per dependency family, the newest published for every package of the family:
 * - Powertools at POWERTOOLS (batch and idempotency are not published past it; two versions
 *   would install two copies of its commons);
 * - the AWS SDK v3 clients at AWS_SDK, except the Glacier client: it is published far less often
 *   (GLACIER_SDK is its newest release). Pinning every client to it instead does not resolve:
 *   lib-dynamodb of that release pulls a util-dynamodb that asks for a newer client-dynamodb.
 *   The clients' shared runtime (@aws-sdk/core, @smithy/*) is a caret range in every client, so
 *   npm installs one copy of it for all of them, the Glacier client included.
 */
const AWS_SDK = '3.1178.0';
const GLACIER_SDK = '3.1048.0';
const POWERTOOLS = '2.35.0';
/*
 * The Node.js the build, the tests and the rehearsal run on: the same major as the Lambda runtime.
 * It comes from npm (the `node` package, whose preinstall script fetches the matching
 * node-<os>-<arch> binary), so a machine with an older Node only needs npm to get it; npm puts
 * node_modules/.bin first on PATH for `npx projen ...`, so every task runs on it.
 */
const NODE = '24.21.0';
/*
 * The newest aws-cdk-lib and cdk-nag the packaging test runs a consumer with (cdk-nag 3 needs
 * aws-cdk-lib >= 2.257.0); the lowest consumer uses our devDependencies (cdkVersion, cdk-nag 2).
 */
const NEWEST_AWS_CDK_LIB = '2.276.0';
const NEWEST_CDK_NAG = '3.0.2';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-glacier-vault-to-s3',
  description:
    'AWS CDK construct that moves every archive of Amazon S3 Glacier vaults into Amazon S3, verified against the Glacier SHA-256 tree hash, resumable, paced to the daily retrieval quota.',
  author: 'cdk-glacier-vault-to-s3 contributors',
  authorAddress: 'maintainers@example.com',
  repositoryUrl: 'https://github.com/example/cdk-glacier-vault-to-s3.git',
  license: 'Apache-2.0',
  keywords: ['cdk', 'awscdk', 'glacier', 's3', 'migration', 'vault'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  // Node 24 is what we build, test and rehearse on (see NODE above); older majors are not tested.
  minNodeVersion: '24.0.0',

  // aws-cdk-lib peer floor 2.224.0: the oldest release we build and test against. What we rely on
  // from it: Runtime.NODEJS_24_X (2.224: before it, cdk-nag's AwsSolutions-L1 "latest runtime"
  // check does not know nodejs24.x and flags every function), DynamoDB
  // pointInTimeRecoverySpecification (2.180), and cdk-nag 2's own floor (2.176). Raising it forces
  // every consumer to upgrade, so we only move it when a feature needs it.
  cdkVersion: '2.224.0',
  jsiiVersion: '~6.0.0',

  // Lambda handlers are bundled by esbuild when WE build, so consumers (TypeScript, Python, Java,
  // .NET) never run esbuild or Docker. The AWS SDK v3 is bundled too (no '@aws-sdk/*' externals):
  // the Lambda runtime's SDK changes under us without notice, and the Glacier client is published
  // far less often than the others, so a pinned, tested client set is the safer contract.
  lambdaAutoDiscover: true,
  lambdaOptions: {
    runtime: new awscdk.LambdaRuntime('nodejs24.x', 'node24', { defaultExternals: [] }),
    // What ships: minified bundles without source maps (maps of 24 SDK-sized bundles were 71 MB
    // of the package); the `bundle` task below minifies with --keep-names, so function and class
    // names in stack traces stay readable.
    bundlingOptions: {
      sourcemap: false,
    },
  },

  // An allow-list of shipped files (package.json `files`) instead of a deny-list.
  npmignoreEnabled: false,

  // jsii targets: `npx projen package` builds the Python wheel (dist/python) and the Maven
  // artifact (dist/java) next to the npm tarball. Names: the PyPI distribution is the npm name,
  // the Python module its snake_case form; the Maven groupId and Java package follow the GitHub
  // owner of repositoryUrl (io.github.<owner>), so they change with it. Go is built by its own
  // task, `package:go`, outside `package` (see below); .NET: README.
  publishToPypi: {
    distName: 'cdk-glacier-vault-to-s3',
    module: 'cdk_glacier_vault_to_s3',
  },
  publishToMaven: {
    javaPackage: 'io.github.example.cdk.glaciervaulttos3',
    mavenGroupId: 'io.github.example',
    mavenArtifactId: 'cdk-glacier-vault-to-s3',
  },
  // The Go module path is `<moduleName>/<packageName>` (github.com/<owner>/<repo>-go, the
  // convention of jsii Go bindings published to a repository of their own, and the npm name
  // without its dashes); the owner follows repositoryUrl, like the Maven groupId.
  publishToGo: {
    moduleName: 'github.com/example/cdk-glacier-vault-to-s3-go',
    packageName: 'cdkglaciervaulttos3',
  },

  // Runtime dependencies of the library itself (the `estimate` CLI and the pure domain core).
  // jsii requires non-jsii dependencies to be bundled into the tarball.
  bundledDeps: ['csv-parse@7.0.3', 'stream-json@1.9.1', 'commander@14.0.3'],

  // projen's dev tsconfig of a construct library is test/tsconfig.json (type-check only, extends
  // tsconfig.json; editors resolve the nearest tsconfig.json, which a root tsconfig.dev.json is
  // not). It is the ONE dev config: it also covers the rehearsal harness and the benchmarks, and
  // jest, the handler bundle, eslint and the typecheck task all use it.
  tsconfigDev: {
    include: ['../rehearsal/**/*.ts', '../bench/**/*.ts'],
  },

  devDeps: [
    `node@${NODE}`,
    `@aws-sdk/client-glacier@${GLACIER_SDK}`,
    ...['client-s3', 'client-sqs', 'client-sns', 'client-dynamodb', 'lib-dynamodb',
      'client-sfn', 'client-eventbridge', 'client-cloudwatch'].map((name) => `@aws-sdk/${name}@${AWS_SDK}`),
    // Only for the benchmark that compares our tree hash with the SDK's (a utility package, not a
    // client: it has its own version line).
    '@aws-sdk/sha256-tree-hash@3.972.12',
    ...['logger', 'metrics', 'batch', 'idempotency'].map((name) => `@aws-lambda-powertools/${name}@${POWERTOOLS}`),
    '@types/aws-lambda@8.10.164',
    '@types/stream-json@1.7.8',
    '@types/cli-progress@3.11.6',
    'aws-sdk-client-mock@4.1.0',
    'aws-sdk-client-mock-jest@4.1.0',
    'fast-check@4.10.2',
    'cdk-nag@2.37.52',
    'cli-progress@3.12.0',
    // Local services for the rehearsal (no AWS account, no Docker): see rehearsal/README.md.
    'dynalite@4.0.0',
    'local-aws-sqs@2.0.2',
    'aws-local-stepfunctions@3.0.0',
    // Runs the rehearsal and the benchmarks straight from TypeScript.
    'tsx@4.23.15',
    'esbuild@0.28.2',
  ],

  // The `estimate` command: npx cdk-glacier-vault-to-s3 estimate --inventory FILE
  bin: { 'cdk-glacier-vault-to-s3': 'lib/cli/main.js' },

  jestOptions: {
    // The test command compares the template snapshot and fails on a difference; `npx projen
    // test:update` rewrites it (then read the diff: it is the template change being shipped).
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      // CDK synth and the in-process local services are slower than plain unit tests.
      testTimeout: 120_000,
      // Coverage instrumentation of bundled handlers doubles the run time for no signal here.
      collectCoverage: false,
      // One temp folder per jest run, removed at the end (test/jest/global-setup.js says why).
      globalSetup: '<rootDir>/test/jest/global-setup.js',
      globalTeardown: '<rootDir>/test/jest/global-teardown.js',
    },
  },

  // Each rehearsal invocation writes its results under rehearsal-output/ (rehearsal/report/output-folder.ts).
  gitignore: ['/rehearsal-output/', '/.rehearsal-tmp/', '__pycache__/', '/bench/results/', '/.venv-rehearsal/', '/.venv-spark/', '/.spark-tmp/', '/.cache/'],
  githubOptions: { mergify: false },
  depsUpgrade: false,
});

// npm 11 asks for install scripts of dependencies to be approved (package.json allowScripts).
// `node` needs its preinstall to fetch the Node binary; esbuild's postinstall checks its platform
// binary; classic-level (dynalite's store, rehearsal) and @parcel/watcher (jest) load prebuilt
// N-API binaries and only compile when none fits. By name, not name@version: npm can only verify a
// pinned version against the lockfile's `resolved` URL, which installs configured with
// omit-lockfile-registry-resolved do not record (the versions are pinned in devDeps anyway).
project.package.addField('allowScripts', {
  'node': true,
  'esbuild': true,
  'classic-level': true,
  '@parcel/watcher': true,
});

// Handlers, the rehearsal and the benchmarks are linted like the library.
project.eslint?.addLintPattern('rehearsal');
project.eslint?.addLintPattern('bench');
// Handlers are bundled at build time, so what they import (AWS SDK, Powertools) is a
// devDependency on purpose; the rehearsal and benchmarks only run from the source tree.
project.eslint?.addOverride({
  files: ['src/handlers/**', 'rehearsal/**', 'bench/**'],
  rules: { 'import/no-extraneous-dependencies': ['error', { devDependencies: true, optionalDependencies: false, peerDependencies: true }] },
});

// What the npm package (and every jsii target built from it) ships; anything else in the repo
// (tests, rehearsal, benchmarks, reports lying around) stays out. The construct code and its
// declarations, the ASL definitions it loads, the Lambda bundles, the Glue job's Python.
project.package.addField('files', [
  'lib/**/*.js',
  'lib/**/*.d.ts',
  'lib/asl/*.json',
  'assets/**/index.js',
  'glue/**/*.py',
  '!glue/**/test_*.py',
  '!glue/local_run.py',
  '!glue/**/spark_test_*.py',
  '.jsii',
  'API.md',
]);
// jsii-pacmak writes a .npmignore whenever there is none; `files` decides what ships (a root
// .npmignore cannot override it), so the one pacmak writes is not kept.
project.gitignore.exclude('/.npmignore');
// jsii compiles lib/ with inline source maps by default; lib/ is plain ES2022 from tsc, readable
// as it is, so it ships without maps.
project.tsconfig?.file.addOverride('compilerOptions.inlineSourceMap', false);
project.tsconfig?.file.addOverride('compilerOptions.inlineSources', false);

// One esbuild run bundles every handler (projen's per-handler tasks start 24 processes): the
// same options, assets/<path of the entry under src>/index.js.
const handlerEntries = project.bundler.bundleTask.steps
  .map((step) => step.spawn)
  .filter((name): name is string => name !== undefined && name.startsWith('bundle:'))
  .map((name) => `src/${name.slice('bundle:'.length)}.ts`);
project.bundler.bundleTask.reset([
  'esbuild --bundle', ...handlerEntries,
  '--platform=node --target=node24 --minify --keep-names --log-level=warning',
  `--outbase=src --outdir=assets --entry-names=[dir]/[name]/index --tsconfig=${project.tsconfigDev.fileName}`,
].join(' '));

// ASL definitions are imported as JSON by the constructs; tsc copies them into lib/asl/ so the
// published package can load them at synth time (proved by test:package).

// The Glue job's per-record logic is plain Python, tested with the standard library only.
const testPython = project.addTask('test:python', {
  description: 'Unit tests of the Glue job logic (python3 unittest, shared conformance fixtures)',
  exec: 'python3 -m unittest discover -s glue -p "test_*.py" -t .',
});

// The Glue engine runs locally on PySpark (pinned in glue/requirements-spark.txt, Java 17 needed)
// in a git-ignored virtualenv; pip skips the download when the pinned version is already there.
const sparkInstall = project.addTask('spark:install', {
  description: 'Create .venv-spark and install the pinned PySpark (glue/requirements-spark.txt)',
  exec: 'test -x .venv-spark/bin/python || python3 -m venv .venv-spark; .venv-spark/bin/pip install --disable-pip-version-check -q -r glue/requirements-spark.txt',
});
// One behaviour, two engines: the Lambda engine writes its outputs for the shared cases, then the
// Spark tests (one SparkSession) run the same cases through the Spark engine and compare.
const testSpark = project.addTask('test:spark', {
  description: 'Spark engine tests on local PySpark, incl. the byte-for-byte comparison with the Lambda engine',
});
testSpark.spawn(sparkInstall);
testSpark.exec('tsx test/cross-engine/lambda-engine-outputs.ts .spark-tmp/cross-engine');
testSpark.exec('.venv-spark/bin/python -W ignore::ResourceWarning -m unittest discover -s glue -p "spark_test_*.py" -t .');

// A small end-to-end rehearsal is part of every test run.
const rehearseCi = project.addTask('rehearse:ci', {
  description: 'Small end-to-end rehearsal used by CI (asserts the final report)',
  exec: 'tsx rehearsal/main.ts --profile ci',
});

// The rehearsal's second backend: moto (Python), pinned in rehearsal/requirements.txt, installed
// into a git-ignored virtualenv by the project itself so a fresh machine (and CI) gets it.
const rehearseSetup = project.addTask('rehearse:setup', {
  description: 'Install the rehearsal\'s Python peers (moto, pinned in rehearsal/requirements.txt) into .venv-rehearsal/',
  exec: 'python3 -m venv .venv-rehearsal && .venv-rehearsal/bin/pip install --disable-pip-version-check --quiet -r rehearsal/requirements.txt',
  // pip's downloads in the project's git-ignored .cache/, as for the Python package below.
  env: { PIP_CACHE_DIR: '$(echo "$PWD/.cache/pip")' },
});

// The CI rehearsal again with S3, DynamoDB (streams), SQS and SNS served by moto instead of our own services.
const rehearseCiMoto = project.addTask('rehearse:ci:moto', {
  description: 'The CI rehearsal with S3, DynamoDB, SQS and SNS served by moto (an independent emulator)',
});
rehearseCiMoto.spawn(rehearseSetup);
rehearseCiMoto.exec('tsx rehearsal/main.ts --profile ci --services moto');

// The part of it `npx projen test` runs (the whole moto matrix takes about 10 minutes on 2 idle
// cores, see rehearsal/README.md): no faults on 24 mixed archives (multipart uploads, the stream-fed
// metrics), duplicates (SQS redelivery), expired-window (exactly-once writes across re-requests),
// dynamodb-conflicts (twin invocations racing conditional writes) and crash-at-boundaries.
const rehearseCiMotoCore = project.addTask('rehearse:ci:moto:core', {
  description: 'Five runs of the CI rehearsal on moto (none, duplicates, expired-window, dynamodb-conflicts, crash-at-boundaries); part of `npx projen test`',
});
rehearseCiMotoCore.spawn(rehearseSetup);
rehearseCiMotoCore.exec('tsx rehearsal/main.ts --profile ci --services moto --only 1,2,7,9,10');

project.addTask('rehearse', {
  description: 'End-to-end rehearsal on a generated vault against local services (no AWS account)',
  exec: 'tsx rehearsal/main.ts',
  receiveArgs: true,
});

// The fault matrix on a larger vault: every fault profile back to back (not part of `test`).
project.addTask('rehearse:faults', {
  description: 'Every fault profile back to back on a larger generated vault (200 archives, at most 256 MiB per run)',
  exec: 'tsx rehearsal/main.ts --profile faults --archives 200 --max-total-mib 256',
  receiveArgs: true,
});

// The `estimate` command run from the source tree (installed, it is `npx cdk-glacier-vault-to-s3 estimate`).
project.addTask('estimate', {
  description: 'Cost and duration estimate from a vault inventory: npx projen estimate --inventory FILE',
  exec: 'tsx src/cli/main.ts estimate',
  receiveArgs: true,
});

project.addTask('bench', {
  description: 'Run every benchmark and print ratios against baselines measured in the same run',
  exec: 'tsx bench/run-all.ts',
  receiveArgs: true,
});
// The Glue engine on local Spark at 1 M and 5 M archives beside the Lambda engine (opt-in: tens of
// minutes on 2 cores; `bench` skips it unless named).
const benchSpark = project.addTask('bench:spark', {
  description: 'Spark engine benchmark: local Spark on 1 M and 5 M archives beside the Lambda engine (BENCH_SPARK_SIZES to change)',
});
benchSpark.spawn(sparkInstall);
benchSpark.exec('tsx bench/run-all.ts --only spark-engine');

// jest (ts-jest with isolatedModules) and tsx strip types without checking them, so the tests,
// the benchmarks and the rehearsal harness are type-checked here, first, to fail fast.
const typecheck = project.addTask('typecheck', {
  description: 'Type-check the tests, the benchmarks and the rehearsal harness (tsc --noEmit)',
});
typecheck.exec(`tsc --noEmit -p ${project.tsconfigDev.fileName}`);
// rehearsal/ and bench/ get a tsconfig.json of their own only so that editors and eslint's project
// service (both take the nearest tsconfig.json) find the dev config for their files.
for (const dir of ['rehearsal', 'bench']) {
  new JsonFile(project, `${dir}/tsconfig.json`, { obj: { extends: `../${project.tsconfigDev.fileName}` } });
}
project.testTask.prependSpawn(typecheck);

project.testTask.spawn(testPython);
project.testTask.spawn(testSpark);
// The inventory stage through the Glue engine once (local Spark run of the same job; needs spark:install).
const rehearseGlue = project.addTask('rehearse:ci:glue', {
  description: 'One rehearsal run with every inventory through the Glue engine on local Spark (--engine glue)',
});
rehearseGlue.spawn(sparkInstall);
rehearseGlue.exec('tsx rehearsal/main.ts --engine glue --archives 8');
project.testTask.spawn(rehearseGlue);
project.testTask.spawn(rehearseCi);
project.testTask.spawn(rehearseCiMotoCore);

// Packaging test: npm pack, install the tarball into a fresh CDK app, synth it, check assets.
const testPackage = project.addTask('test:package', {
  description: 'Install the packed tarball into fresh CDK apps (lowest aws-cdk-lib + cdk-nag 2, newest + cdk-nag 3), synthesize README\'s example, run AwsSolutions',
  exec: 'node test/packaging/consumer-synth.js',
  env: { NEWEST_AWS_CDK_LIB, NEWEST_CDK_NAG },
});

// The Python wheel and the Maven artifact. Downloads (pip's, Maven's) stay in the project, in the
// git-ignored .cache/: nothing is cached in the user's home, and a fresh clone (CI) starts empty.
const PIP_CACHE_DIR = '$(echo "$PWD/.cache/pip")';
const MAVEN_REPO = '.cache/m2';
project.tasks.tryFind('package:python')?.env('PIP_CACHE_DIR', PIP_CACHE_DIR);
// jsii-pacmak's own default is a Maven repository in its temporary build folder, downloaded anew
// (aws-cdk-lib's jar alone is ~100 MiB) on every package; the Java consumer test reuses this one.
project.tasks.tryFind('package:java')?.reset(`jsii-pacmak -v --target java --maven-local-repository=${MAVEN_REPO}`);
// package-all builds the three targets in one jsii-pacmak run instead of projen's one run per
// target: jsii-pacmak loads the assembly and packs the npm tarball once (about 15 s each run on
// 2 cores), and builds the languages in parallel, so Maven's and pip's downloads overlap.
project.tasks.tryFind('package-all')!.reset(`jsii-pacmak -v --target js --target python --target java --maven-local-repository=${MAVEN_REPO}`);
project.tasks.tryFind('package-all')!.env('PIP_CACHE_DIR', PIP_CACHE_DIR);

// The same example from Python (virtualenv, aws-cdk-lib from PyPI pinned in
// test/packaging/requirements-python-consumer.txt, the built wheel) and from Java (Maven, pins in
// test/packaging/java-consumer.js, the built artifact): the same functions, state machines and runbooks as the
// TypeScript consumer, whose resources test:package writes to dist/consumer-resources.json.
const testPackagePython = project.addTask('test:package:python', {
  description: 'Install the built wheel into a fresh Python CDK app (virtualenv, pinned aws-cdk-lib from PyPI), synthesize README\'s example, compare with the TypeScript consumer',
  exec: 'node test/packaging/python-consumer.js',
  env: { PIP_CACHE_DIR },
});
// The Java consumer: README's example compiled and synthesized in a fresh Maven project against
// dist/java (built by `package`, or by `package:java` alone), after test:package.
const testPackageJava = project.addTask('test:package:java', {
  description: 'Add the built Maven artifact to a fresh Java CDK app (Maven, pinned aws-cdk-lib from Maven Central), synthesize README\'s example, compare with the TypeScript consumer',
  exec: 'node test/packaging/java-consumer.js',
  env: { MAVEN_REPO },
});

// Go: jsii-pacmak generates the bindings in dist/go/<packageName> and compiles them against
// aws-cdk-go (the awscdk/v2 module is a 61 MiB download; the packages this library's API refers to,
// aws_ec2 among them, take minutes of CPU to compile on 2 cores), so Go is not part of `package`
// and the test command: `npx projen test:package:go` builds and tests it (README, "Other jsii
// targets"). Like `package`, it bundles the handlers first. Go's module download cache and build
// cache stay in the project's git-ignored .cache/go (absolute paths: Go refuses relative ones);
// -modcacherw leaves the downloaded modules writable, so `rm -rf .cache` works without root.
const GO_ENV = {
  GOMODCACHE: '$(echo "$PWD/.cache/go/mod")',
  GOCACHE: '$(echo "$PWD/.cache/go/build")',
  GOFLAGS: '-modcacherw',
};
const packageGo = project.tasks.tryFind('package:go')!;
packageGo.prependSpawn(project.bundler.bundleTask);
for (const [name, value] of Object.entries(GO_ENV)) packageGo.env(name, value);
// jsii-pacmak's own `go build` of the bindings uses their go.mod as it is: aws-cdk-go at the peer
// floor (2.224.0) with constructs-go at our constructs version (10.5.1), and aws-cdk-go 2.224.0,
// generated against constructs 10.4, does not compile with constructs 10.5 (its Cfn* types get
// two `With` methods: "ambiguous selector"). So pacmak only generates and tidies the module, and
// test:package:go compiles it in a consumer with an aws-cdk-go that does (go-consumer.js).
packageGo.env('JSII_BUILD_GO', '0');
// README's example in a fresh Go module (go.mod `replace`s the library's module with dist/go), the
// same checks as the Python and Java consumers; after test:package, whose resources it compares.
const testPackageGo = project.addTask('test:package:go', {
  description: 'Build the Go bindings (package:go), then synthesize README\'s example in a fresh Go CDK app against them (aws-cdk-go at NEWEST_AWS_CDK_LIB from the Go module proxy), compare with the TypeScript consumer',
  env: { ...GO_ENV, NEWEST_AWS_CDK_LIB },
});
testPackageGo.spawn(packageGo);
testPackageGo.exec('node test/packaging/go-consumer.js');

// Every target is packaged, in CI too (projen packages only js when CI is set, for release
// workflows that build each language in a job of its own; .ci/run is one job). `package` bundles
// first, so a package never ships stale or missing handler bundles; then the packaging tests.
project.packageTask.reset();
project.packageTask.spawn(project.bundler.bundleTask);
project.packageTask.spawn(project.tasks.tryFind('package-all')!);
project.packageTask.spawn(testPackage);
project.packageTask.spawn(testPackagePython);
project.packageTask.spawn(testPackageJava);

project.synth();
