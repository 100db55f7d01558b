import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { GlacierVaultToS3Transfer } from '../../src';

/*
 * Glacier is served in the China and GovCloud partitions: nothing the library synthesizes may name
 * the commercial partition literally (ARNs take it from the stack: `AWS::Partition` or its value).
 */
describe.each([
  ['aws-cn', 'cn-north-1'],
  ['aws-us-gov', 'us-gov-west-1'],
])('partition %s (%s)', (_partition, region) => {
  test('no template of the app contains an arn:aws: literal', () => {
    const app = new App();
    const stack = new Stack(app, 'Consumer', { env: { account: '111122223333', region } });
    const destinationBucket = s3.Bucket.fromBucketName(stack, 'Destination', 'my-archive-bucket');
    // Every optional child: decommissioning, the customer key, e-mail notifications.
    new GlacierVaultToS3Transfer(stack, 'Transfer', {
      destinationBucket,
      allowedVaultNames: ['photos'],
      enableDecommissioning: true,
      encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
      notificationEmails: ['ops@example.com'],
    });
    const assembly = app.synth();
    expect(assembly.stacks.length).toBeGreaterThan(0);
    for (const artifact of assembly.stacks) {
      const text = JSON.stringify(artifact.template);
      const literals = [...text.matchAll(/.{0,60}arn:aws:.{0,60}/g)].map((m) => m[0]);
      expect({ stack: artifact.stackName, literals }).toEqual({ stack: artifact.stackName, literals: [] });
    }
  });
});
