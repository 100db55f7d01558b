import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GlacierVaultToS3Transfer, GlacierVaultToS3TransferProps } from '../../src';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';

export interface TestStack {
  readonly app: App;
  readonly stack: Stack;
  readonly transfer: GlacierVaultToS3Transfer;
  readonly bucket: s3.IBucket;
}

/** A stack with the construct and an imported destination bucket, as a user would write it. */
export function makeStack(props: Partial<GlacierVaultToS3TransferProps> = {}, nag = false): TestStack {
  const app = new App();
  const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
  if (nag) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  const bucket = s3.Bucket.fromBucketName(stack, 'Destination', 'my-archive-bucket');
  const transfer = new GlacierVaultToS3Transfer(stack, 'Transfer', { destinationBucket: bucket, ...props });
  return { app, stack, transfer, bucket };
}

export function templateOf(props: Partial<GlacierVaultToS3TransferProps> = {}): Template {
  return Template.fromStack(makeStack(props).stack);
}

/** Every IAM policy statement in the template, flattened. */
export function policyStatements(template: Template): Array<Record<string, any>> {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}
