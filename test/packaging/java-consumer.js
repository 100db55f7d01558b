#!/usr/bin/env node
/*
 * Packaging test of the Java target: a fresh Maven project outside the source tree depends on
 * aws-cdk-lib, constructs and the jsii runtime from Maven Central (versions pinned below) and on
 * the artifact `package` (package-all) or `package:java` built (dist/java, a Maven repository
 * layout, added as a file:// repository), then runs README's example in Java (ConsumerApp.java)
 * with `mvn compile exec:java`.
 * The synthesized template must resolve every Lambda asset and ASL definition from the installed
 * artifact and hold the same functions, state machines and runbooks as the TypeScript consumer.
 * Maven's local repository is the task's MAVEN_REPO (.projenrc.ts: in the project), where
 * the Java build already downloaded the plugins and the jsii runtime.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { root, pkg, createChecker, builtArtifact, checkConsumerSynth } = require('./checks');

const NAME = 'test:package:java';
const { javaPackage, groupId, artifactId } = (() => {
  const java = pkg.jsii.targets.java;
  return { javaPackage: java.package, groupId: java.maven.groupId, artifactId: java.maven.artifactId };
})();
const jar = builtArtifact(NAME, path.join('java', ...groupId.split('.'), artifactId, pkg.version), `${artifactId}-${pkg.version}.jar`, 'package:java');
if (!process.env.MAVEN_REPO) {
  console.error(`${NAME}: MAVEN_REPO is not set (run it as \`npx projen ${NAME}\`, whose task sets it)`);
  process.exit(1);
}
const mavenRepo = path.resolve(root, process.env.MAVEN_REPO);

// The consumer's pins: aws-cdk-lib at the lowest release the library supports (its peer floor, as
// the TypeScript "lowest" and the Python consumer), constructs as the TypeScript consumer, the jsii
// runtime of the jsii-pacmak that built the artifact; plugins pinned so Maven resolves nothing.
const VERSIONS = {
  awsCdkLib: pkg.devDependencies['aws-cdk-lib'],
  constructs: pkg.devDependencies.constructs,
  jsiiRuntime: require('jsii-pacmak/package.json').version,
  compilerPlugin: '3.11.0',
  resourcesPlugin: '2.6',
  execPlugin: '3.5.0',
};
// aws-cdk-lib 2.224.0's pom gives its dependencies as version ranges (constructs [10.0.0,11.0.0),
// jsii-runtime [1.119.0,2.0.0), ...), and Maven 3.8 reads the pom of every release in a range,
// then of every release in those poms' ranges: about 1,300 small downloads (2.5 minutes) before
// anything compiles. dependencyManagement pins them instead, at the versions the TypeScript build
// installed (aws-cdk-lib's jsii dependencies from package-lock.json) and the annotations versions
// jsii-pacmak resolved for the built artifact; constructs and jsii-runtime as above.
const awsCdkLibDir = path.dirname(require.resolve('aws-cdk-lib/package.json'));
const installed = (name) => [path.join(awsCdkLibDir, 'node_modules'), path.join(root, 'node_modules')]
  .map((dir) => path.join(dir, name, 'package.json')).find((file) => fs.existsSync(file));
const MANAGED = [
  ...Object.keys(require('aws-cdk-lib/package.json').dependencies).flatMap((name) => {
    const file = installed(name);
    if (!file) {
      console.error(`${NAME}: aws-cdk-lib's dependency ${name} is not installed (run \`npm ci\` first)`);
      process.exit(1);
    }
    const dep = JSON.parse(fs.readFileSync(file, 'utf8'));
    const maven = dep.jsii && dep.jsii.targets && dep.jsii.targets.java && dep.jsii.targets.java.maven;
    return maven ? [[maven.groupId, maven.artifactId, dep.version]] : [];
  }),
  ['software.constructs', 'constructs', VERSIONS.constructs],
  ['software.amazon.jsii', 'jsii-runtime', VERSIONS.jsiiRuntime],
  ...[['org.jetbrains', 'annotations'], ['javax.annotation', 'javax.annotation-api']].map(([g, a]) => {
    const declared = new RegExp(`<groupId>${g.replace(/\./g, '\\.')}</groupId>\\s*<artifactId>${a}</artifactId>\\s*<version>([^<]+)</version>`).exec(fs.readFileSync(jar.replace(/\.jar$/, '.pom'), 'utf8'));
    if (!declared) {
      console.error(`${NAME}: the built artifact's pom (${jar.replace(/\.jar$/, '.pom')}) declares no version of ${g}:${a}`);
      process.exit(1);
    }
    return [g, a, declared[1]];
  }),
];
const label = `[java: aws-cdk-lib ${VERSIONS.awsCdkLib}]`;
const { check, finish } = createChecker(NAME);

const dependency = (g, a, v) => `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
const plugin = (g, a, v, extra = '') => `      <plugin><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version>${extra}</plugin>`;
const pom = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>consumer</groupId>
  <artifactId>consumer-app</artifactId>
  <version>0.0.0</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <repositories>
    <repository><id>built-artifact</id><url>${new URL(`file://${path.join(root, 'dist', 'java')}`).href}</url></repository>
  </repositories>
  <dependencyManagement>
    <dependencies>
${MANAGED.map(([g, a, v]) => `  ${dependency(g, a, v)}`).join('\n')}
    </dependencies>
  </dependencyManagement>
  <dependencies>
${dependency(groupId, artifactId, pkg.version)}
${dependency('software.amazon.awscdk', 'aws-cdk-lib', VERSIONS.awsCdkLib)}
${dependency('software.constructs', 'constructs', VERSIONS.constructs)}
${dependency('software.amazon.jsii', 'jsii-runtime', VERSIONS.jsiiRuntime)}
  </dependencies>
  <build>
    <plugins>
${plugin('org.apache.maven.plugins', 'maven-compiler-plugin', VERSIONS.compilerPlugin)}
${plugin('org.apache.maven.plugins', 'maven-resources-plugin', VERSIONS.resourcesPlugin)}
${plugin('org.codehaus.mojo', 'exec-maven-plugin', VERSIONS.execPlugin, '<configuration><mainClass>consumer.ConsumerApp</mainClass></configuration>')}
    </plugins>
  </build>
</project>
`;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'glacier-consumer-java-'));
const timings = [];
// Maven's JVM with the quick JIT only, as jsii-pacmak runs it for package:java: measured on the
// loaded 2-core machine, compile + synth took 27 s (12 s of CPU) instead of 53 s (19 s).
const MAVEN_OPTS = `${process.env.MAVEN_OPTS || ''} -XX:+TieredCompilation -XX:TieredStopAtLevel=1`.trim();
const mvn = (what, goals, env = process.env) => {
  const start = Date.now();
  const run = spawnSync('mvn', ['--batch-mode', '--quiet', `-Dmaven.repo.local=${mavenRepo}`, ...goals], { cwd: work, encoding: 'utf8', env: { ...env, MAVEN_OPTS } });
  timings.push(`${what} ${((Date.now() - start) / 1000).toFixed(1)} s`);
  // Maven prints ANSI resets even with --quiet; they must not start the next check line.
  const printed = run.stdout.replace(/\x1b\[[0-9;]*m/g, '');
  if (printed.trim()) process.stdout.write(printed);
  return run;
};
try {
  fs.writeFileSync(path.join(work, 'pom.xml'), pom);
  const sources = path.join(work, 'src', 'main', 'java', 'consumer');
  fs.mkdirSync(sources, { recursive: true });
  fs.copyFileSync(path.join(__dirname, 'ConsumerApp.java'), path.join(sources, 'ConsumerApp.java'));
  check(fs.readFileSync(path.join(sources, 'ConsumerApp.java'), 'utf8').includes(`import ${javaPackage}.GlacierVaultToS3Transfer;`),
    `${label} the example imports the construct from the artifact's Java package ${javaPackage}`);

  const compile = mvn('mvn compile (downloads)', ['compile']);
  check(compile.status === 0, `${label} README's example compiles against ${path.basename(jar)} from dist/java${compile.status === 0 ? '' : `: ${(compile.stdout + compile.stderr).slice(-2000)}`}`);
  if (compile.status === 0) {
    // README's example in Java; deprecated aws-cdk-lib calls throw.
    const run = mvn('synth', ['exec:java'], { ...process.env, JSII_DEPRECATED: 'fail' });
    checkConsumerSynth(check, label, 'Java', run, work);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`${NAME}: ${timings.join(', ')}`);
finish('the built Maven artifact synthesizes README\'s example in a fresh Java CDK app');
