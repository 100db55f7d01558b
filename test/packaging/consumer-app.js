/*
 * The consumer app of the packaging test: README's "Use" example as a user writes it, with the
 * AwsSolutions cdk-nag pack registered the way the installed cdk-nag major expects (2: an Aspect,
 * 3: a policy-validation plugin). A second stack, Control, holds one unsuppressed wildcard policy:
 * cdk-nag must report it, which proves the pack ran and that the library's acknowledgments are
 * not blanket ones. Runs inside the temporary consumer folder (argv[2] = cdk-nag major).
 */
'use strict';
const { App, Aspects, Size, Stack } = require('aws-cdk-lib');
const iam = require('aws-cdk-lib/aws-iam');
const s3 = require('aws-cdk-lib/aws-s3');
const { AwsSolutionsChecks } = require('cdk-nag');
const { GlacierVaultToS3Transfer, DestinationStorageClass } = require('cdk-glacier-vault-to-s3');

const nagMajor = Number(process.argv[2]);
const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'GlacierMigration');
new GlacierVaultToS3Transfer(stack, 'Transfer', {
  destinationBucket: s3.Bucket.fromBucketName(stack, 'Destination', 'my-archive-bucket'),
  destinationPrefix: 'from-glacier',
  storageClass: DestinationStorageClass.DEEP_ARCHIVE,
  allowedVaultNames: ['photos', 'backups-2012'],
  dailyQuota: Size.tebibytes(100),
});

const control = new Stack(app, 'Control');
new iam.Role(control, 'Wildcard', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') })
  .addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));

if (nagMajor === 2) {
  Aspects.of(app).add(new AwsSolutionsChecks());
  app.synth();
} else {
  require('aws-cdk-lib').Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch (error) {
    // The Control stack's violation fails validation on purpose; the checker reads the report.
    if (!/Validation failed/.test(String(error && error.message))) throw error;
  }
}
