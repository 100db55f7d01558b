import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { destinationStatement } from '../../src/constructs/destination-access';

const bucket = () => s3.Bucket.fromBucketName(new Stack(new App(), 'S', { env: { account: '111122223333', region: 'eu-west-1' } }), 'B', 'dest');

test('a destination statement allows only a trailing wildcard (the prefix itself is literal)', () => {
  const ok = destinationStatement(bucket(), '111122223333', { actions: ['s3:PutObject'], objects: 'restored/*' }).toStatementJson();
  expect(ok.Resource).toMatch(/:s3:::dest\/restored\/\*$/);
  expect(ok.Condition).toEqual({ StringEquals: { 's3:ResourceAccount': '111122223333' } });
  for (const objects of ['*/*', 'a?/*', 'home/${aws:username}/*']) {
    expect(() => destinationStatement(bucket(), '111122223333', { actions: ['s3:PutObject'], objects }))
      .toThrow(/has a wildcard or policy variable in its prefix/);
  }
});
