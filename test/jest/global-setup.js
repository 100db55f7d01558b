// Every CDK App synthesized by a test writes a cdk.out folder (the bundled handler assets, tens of
// MB) under os.tmpdir() and nobody deletes it: hundreds per run filled the disk. Point the temp
// dir of this jest run (its workers inherit the environment) at one folder removed at the end.
const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jest-run-'));
  process.env.JEST_RUN_TMPDIR = dir;
  process.env.TMPDIR = dir;
};
