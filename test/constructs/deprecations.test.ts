import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ACCOUNT, makeStack, REGION } from './helpers';
import { GlacierVaultToS3Transfer } from '../../src';

/*
 * A consumer's synth must not print deprecation warnings from this library. aws-cdk-lib checks
 * every call into a deprecated API at run time; JSII_DEPRECATED=fail turns the warning into an
 * exception, so any deprecated call on the synth path fails this test (with the aws-cdk-lib we
 * build against; test:package repeats the check with the newest aws-cdk-lib).
 */
describe('consumer synth uses no deprecated aws-cdk-lib API', () => {
  const previous = process.env.JSII_DEPRECATED;
  beforeAll(() => { process.env.JSII_DEPRECATED = 'fail'; });
  afterAll(() => {
    if (previous === undefined) delete process.env.JSII_DEPRECATED;
    else process.env.JSII_DEPRECATED = previous;
  });

  test('every optional part switched on, with and without a customer managed key', () => {
    for (const withKey of [false, true]) {
      const stack = new Stack(new App(), 'Consumer', { env: { account: ACCOUNT, region: REGION } });
      new GlacierVaultToS3Transfer(stack, 'Transfer', {
        destinationBucket: s3.Bucket.fromBucketName(stack, 'Destination', 'my-archive-bucket'),
        enableDecommissioning: true,
        allowedVaultNames: ['photos'],
        notificationEmails: ['ops@example.com'],
        ...(withKey ? { encryptionKey: new kms.Key(stack, 'Key') } : {}),
      });
      const template = Template.fromStack(stack);
      // The Glue job still waits for its security configuration (a construct-level dependency now).
      const jobs = Object.values(template.findResources('AWS::Glue::Job')) as any[];
      const configs = Object.keys(template.findResources('AWS::Glue::SecurityConfiguration'));
      expect(jobs).toHaveLength(1);
      expect(configs).toHaveLength(1);
      expect(jobs[0].DependsOn).toEqual(expect.arrayContaining(configs));
    }
  });

  test('a deprecated call does fail under JSII_DEPRECATED=fail (the check is live)', () => {
    const { stack } = makeStack();
    // CfnResource#addDependsOn is deprecated in every aws-cdk-lib 2.x.
    const a = new sns.CfnTopic(stack, 'A');
    const b = new sns.CfnTopic(stack, 'B');
    expect(() => a.addDependsOn(b)).toThrow(/deprecated/);
  });
});
