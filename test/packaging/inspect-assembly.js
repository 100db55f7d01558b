/*
 * What a synthesized consumer app contains, in a form every packaging test compares: the
 * transfer's Lambda functions, state machines and runbooks (logical ids, sorted), and cdk-nag
 * errors per stack, read from cdk-nag 2 annotations (manifest metadata) or from the cdk-nag 3
 * validation report. Language-neutral: it only reads the cloud assembly folder.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const TYPES = { functions: 'AWS::Lambda::Function', stateMachines: 'AWS::StepFunctions::StateMachine', runbooks: 'AWS::SSM::Document' };

function inspectAssembly(outDir, stackName = 'GlacierMigration') {
  const template = JSON.parse(fs.readFileSync(path.join(outDir, `${stackName}.template.json`), 'utf8'));
  const resources = Object.entries(template.Resources || {});
  const summary = { template, resources: {} };
  for (const [key, type] of Object.entries(TYPES)) {
    summary.resources[key] = resources.filter(([, r]) => r.Type === type).map(([id]) => id).sort();
  }
  summary.nagErrors = nagErrors(outDir);
  return summary;
}

/** `{ stack: ['AwsSolutions-IAM5[...] at path', ...] }` for every cdk-nag error. */
function nagErrors(outDir) {
  const errors = {};
  const add = (stack, text) => (errors[stack] = errors[stack] || []).push(text);
  const reportFile = path.join(outDir, 'validation-report.json');
  if (fs.existsSync(reportFile)) {
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
    for (const plugin of report.pluginReports || []) {
      for (const v of plugin.violations || []) {
        if (v.severity !== 'error') continue;
        for (const c of v.violatingConstructs || []) add(c.constructPath.split('/')[0], `${v.ruleName} at ${c.constructPath}`);
      }
    }
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(outDir, 'manifest.json'), 'utf8'));
  for (const [name, artifact] of Object.entries(manifest.artifacts || {})) {
    for (const [at, entries] of Object.entries(artifact.metadata || {})) {
      for (const entry of entries) {
        if (entry.type === 'aws:cdk:error' && /^AwsSolutions-/.test(String(entry.data))) add(name, `${String(entry.data).split(': ')[0]} at ${at}`);
      }
    }
  }
  return errors;
}

module.exports = { inspectAssembly };
