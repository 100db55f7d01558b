import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';

/*
 * Every IAM statement on the user's destination bucket goes through this module, so each one
 * carries `s3:ResourceAccount` = the expected bucket owner: the same account the handlers send as
 * `ExpectedBucketOwner`. A bucket deleted and re-created under the same name by another account is
 * then refused by IAM as well as by the request header, for reads as much as for writes.
 */

/** The condition every destination-bucket statement carries. */
export function destinationOwnerCondition(owner: string): Record<string, Record<string, string>> {
  return { StringEquals: { 's3:ResourceAccount': owner } };
}

/** What one destination-bucket statement allows. */
export interface DestinationStatementOptions {
  readonly sid?: string;
  readonly actions: string[];
  /** Object key pattern (e.g. `prefix/*`); without it the statement is on the bucket itself. */
  readonly objects?: string;
}

/** A statement on the destination bucket (or its objects under `objects`), held to `owner`. */
export function destinationStatement(bucket: s3.IBucket, owner: string, options: DestinationStatementOptions): iam.PolicyStatement {
  // Only the trailing `*` is a wildcard: a prefix with its own `*`, `?` or `${` would widen the ARN.
  if (options.objects !== undefined && /[*?]|\$\{/.test(options.objects.replace(/\*$/, ''))) {
    throw new Error(`destination object pattern ${JSON.stringify(options.objects)} has a wildcard or policy variable in its prefix (destinationPrefix must not contain *, ? or \${)`);
  }
  return new iam.PolicyStatement({
    sid: options.sid,
    actions: options.actions,
    resources: [options.objects === undefined ? bucket.bucketArn : bucket.arnForObjects(options.objects)],
    conditions: destinationOwnerCondition(owner),
  });
}

/**
 * Lets `grantee` write archives under `prefix` and read them back for verification:
 * `s3:PutObject` (PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload),
 * `s3:AbortMultipartUpload` and `s3:GetObject` (HeadObject/GetObject), all held to `owner`. A
 * destination bucket with a KMS key of this app also gets the key actions multipart uploads need.
 */
export function grantDestinationWrite(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: string, owner: string): void {
  const objects = `${prefix}*`;
  const add = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
  add(destinationStatement(bucket, owner, { sid: 'WriteDestinationObjects', actions: ['s3:PutObject', 's3:AbortMultipartUpload'], objects }));
  add(destinationStatement(bucket, owner, { sid: 'VerifyDestinationObjects', actions: ['s3:GetObject'], objects }));
  bucket.encryptionKey?.grantEncryptDecrypt(grantee);
}
