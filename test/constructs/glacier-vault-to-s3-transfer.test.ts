import { App, CfnElement, Duration, Size, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ACCOUNT, makeStack, policyStatements, REGION, templateOf } from './helpers';
import { DestinationStorageClass, GlacierVaultToS3Transfer, GlacierVaultToS3TransferProps, InventoryEngine, RetrievalTier } from '../../src';

const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

describe('GlacierVaultToS3Transfer storage', () => {
  const template = templateOf();

  test('every table is encrypted, has point-in-time recovery and a TTL attribute', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(3);
    for (const table of Object.values(tables) as any[]) {
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.Properties.TimeToLiveSpecification.Enabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
    }
  });

  test('transfer table has the job-id and status indexes and a NEW_AND_OLD_IMAGES stream', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({ IndexName: 'JobIdIndex', KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }] }),
        Match.objectLike({
          IndexName: 'StatusIndex',
          KeySchema: [{ AttributeName: 'runStatus', KeyType: 'HASH' }, { AttributeName: 'statusTime', KeyType: 'RANGE' }],
        }),
      ]),
    });
  });

  test('every bucket is encrypted, versioned, private and TLS-only; the inventory bucket logs access', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(2);
    for (const bucket of Object.values(buckets) as any[]) {
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toHaveLength(1);
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      });
    }
    const logged = Object.values(buckets).filter((b: any) => b.Properties.LoggingConfiguration);
    expect(logged).toHaveLength(1);
    const policies = template.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(2);
    for (const policy of Object.values(policies) as any[]) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]));
    }
  });

  test('every queue is encrypted and TLS-only, and every work queue and dead-letter queue has a dead-letter queue', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(8);
    for (const queue of Object.values(queues) as any[]) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
    const withDlq = Object.values(queues).filter((q: any) => q.Properties.RedrivePolicy);
    // Three work queues, and their three dead-letter queues (redriven to the unreconciled queue).
    expect(withDlq).toHaveLength(6);
    for (const queue of withDlq as any[]) {
      expect(queue.Properties.RedrivePolicy.deadLetterTargetArn).toBeDefined();
      expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBeGreaterThan(1);
    }
    const policies = template.findResources('AWS::SQS::QueuePolicy');
    const securedQueues = new Set<string>();
    for (const policy of Object.values(policies) as any[]) {
      const denies = policy.Properties.PolicyDocument.Statement.filter((s: any) =>
        s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false');
      if (denies.length) for (const q of policy.Properties.Queues) securedQueues.add(q.Ref);
    }
    expect([...securedQueues].sort()).toEqual(Object.keys(queues).sort());
  });

  test('visibility timeouts cover six times the consumer timeout', () => {
    const queues = template.findResources('AWS::SQS::Queue') as Record<string, any>;
    const timeouts = Object.entries(queues).filter(([, q]) => q.Properties.RedrivePolicy);
    for (const [id, q] of timeouts) {
      // The dead-letter queues are consumed by the DeadLetterReconciler (1-minute timeout).
      expect(q.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(id.includes('DeadLetterQueue') ? 6 * 60 : 6 * 10 * 60);
    }
  });

  test('only Glacier acting for this account may publish to the topic, over TLS', () => {
    const policy = Object.values(template.findResources('AWS::SNS::TopicPolicy'))[0] as any;
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'glacier.amazonaws.com' },
        Action: 'sns:Publish',
        Condition: { StringEquals: { 'AWS:SourceOwner': ACCOUNT } },
      }),
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]));
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs' });
  });

  test('a customer managed key encrypts tables, queues, the inventory bucket, the state machines and every log group; SNS and CloudWatch Logs may use it only for the construct\'s own topic and log groups', () => {
    const app = new App();
    const keyStack = new Stack(app, 'WithKey', { env: { account: ACCOUNT, region: REGION } });
    const key = new kms.Key(keyStack, 'Key', { enableKeyRotation: true });
    const bucket = s3.Bucket.fromBucketName(keyStack, 'Destination', 'dest-bucket');
    const transfer = new GlacierVaultToS3Transfer(keyStack, 'Transfer', { destinationBucket: bucket, encryptionKey: key });
    const t = Template.fromStack(keyStack);
    for (const table of Object.values(t.findResources('AWS::DynamoDB::Table')) as any[]) {
      expect(table.Properties.SSESpecification).toEqual(expect.objectContaining({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: expect.anything() }));
    }
    for (const queue of Object.values(t.findResources('AWS::SQS::Queue')) as any[]) {
      expect(queue.Properties.KmsMasterKeyId).toBeDefined();
    }
    // CloudWatch Logs may use the key, and every log group does.
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'CloudWatchLogsOfThisAccount', Effect: 'Allow' })]) },
    });
    for (const group of Object.values(t.findResources('AWS::Logs::LogGroup')) as any[]) {
      expect(group.Properties.KmsKeyId).toBeDefined();
    }
    const keyId = keyStack.getLogicalId(key.node.defaultChild as kms.CfnKey);
    const keyStatements: any[] = t.findResources('AWS::KMS::Key')[keyId].Properties.KeyPolicy.Statement;

    // CloudWatch Logs may use the key for exactly this transfer's log groups (each has a literal
    // name) and Glue's groups of the job's security configuration, nothing else.
    const groupNames = (Object.values(t.findResources('AWS::Logs::LogGroup')) as any[]).map((g) => g.Properties.LogGroupName);
    for (const name of groupNames) expect(typeof name).toBe('string');
    expect(new Set(groupNames).size).toBe(groupNames.length);
    const securityConfigurations = Object.values(t.findResources('AWS::Glue::SecurityConfiguration')) as any[];
    expect(securityConfigurations).toHaveLength(1);
    const logsStatements = keyStatements.filter((s) => s.Principal?.Service === `logs.${REGION}.amazonaws.com`);
    expect(logsStatements).toHaveLength(1);
    expect(Object.keys(logsStatements[0].Condition)).toEqual(['ArnLike']);
    const allowedArns = (logsStatements[0].Condition.ArnLike['kms:EncryptionContext:aws:logs:arn'] as any[])
      .map((arn) => arn['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : '<partition>')).join(''));
    const arnOf = (name: string) => `arn:<partition>:logs:${REGION}:${ACCOUNT}:log-group:${name}`;
    expect(allowedArns.sort()).toEqual([...groupNames.map(arnOf), arnOf(`/aws-glue/*${securityConfigurations[0].Properties.Name}*`)].sort());
    for (const arn of allowedArns) expect(arn).not.toMatch(/log-group:\*/);

    // SNS may use the key (to deliver to the encrypted notifications queue) only for this topic.
    const snsStatements = keyStatements.filter((s) => s.Principal?.Service === 'sns.amazonaws.com');
    expect(snsStatements).toHaveLength(1);
    expect(snsStatements[0].Condition).toEqual({ ArnEquals: { 'aws:SourceArn': { Ref: keyStack.getLogicalId(transfer.storage.notificationTopic.node.defaultChild as sns.CfnTopic) } } });

    // The state machines are encrypted with the key; their log delivery may decrypt with it.
    const machines = Object.values(t.findResources('AWS::StepFunctions::StateMachine')) as any[];
    expect(machines).toHaveLength(5);
    for (const machine of machines) {
      expect(machine.Properties.EncryptionConfiguration).toEqual(expect.objectContaining({
        Type: 'CUSTOMER_MANAGED_KMS_KEY',
        KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      }));
    }
    expect(keyStatements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Principal: { Service: 'delivery.logs.amazonaws.com' }, Action: 'kms:Decrypt*' }),
    ]));
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() } })] },
    });
  });
  test('without a key, the state machines keep the AWS owned key', () => {
    for (const machine of Object.values(templateOf().findResources('AWS::StepFunctions::StateMachine')) as any[]) {
      expect(machine.Properties.EncryptionConfiguration).toBeUndefined();
    }
  });
});

describe('GlacierVaultToS3Transfer IAM', () => {
  test('Glacier actions are scoped to the allowed vaults only', () => {
    const statements = policyStatements(templateOf({ allowedVaultNames: ['photos', 'backups-2012'] }));
    const glacier = statements.filter((s) => asArray(s.Action).some((a: string) => a.startsWith('glacier:')));
    expect(glacier.length).toBeGreaterThan(0);
    for (const s of glacier) {
      expect(asArray(s.Resource)).toHaveLength(2);
      const rendered = JSON.stringify(s.Resource);
      expect(rendered).toContain(':vaults/photos');
      expect(rendered).toContain(':vaults/backups-2012');
      expect(rendered).not.toContain('*');
    }
  });

  test('without allowedVaultNames, Glacier access covers only this account and region', () => {
    const statements = policyStatements(templateOf());
    const glacier = statements.filter((s) => asArray(s.Action).some((a: string) => a.startsWith('glacier:')));
    for (const s of glacier) {
      expect(JSON.stringify(s.Resource)).toContain(`:glacier:${REGION}:${ACCOUNT}:vaults/*`);
    }
  });

  test('S3 writes on the destination bucket are limited to the destination prefix', () => {
    const statements = policyStatements(templateOf({ destinationPrefix: 'from-glacier' }));
    const s3Writes = statements.filter((s) => asArray(s.Action).some((a: string) => a.startsWith('s3:Put') || a === 's3:Abort*')
      && JSON.stringify(s.Resource).includes('my-archive-bucket'));
    expect(s3Writes.length).toBeGreaterThan(0);
    for (const s of s3Writes) {
      const rendered = JSON.stringify(s.Resource);
      expect(rendered).toContain('my-archive-bucket/from-glacier/*');
    }
  });

  test('no statement grants a bare "*" resource, except actions that only accept "*"', () => {
    // These actions have no resource-level permissions: the stream event source needs
    // dynamodb:ListStreams, state machine logging needs the log-delivery actions, tracing X-Ray.
    const resourceless = new Set([
      'dynamodb:ListStreams',
      'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
      'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets',
    ]);
    const wildcard = policyStatements(templateOf()).filter((s) => asArray(s.Resource).includes('*'));
    for (const s of wildcard) {
      // PutMetricData has no resources either; it must be held to our namespace by a condition.
      if (asArray(s.Action).includes('cloudwatch:PutMetricData')) {
        expect(s.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': expect.any(String) } });
        continue;
      }
      expect(asArray(s.Action).filter((a: string) => !resourceless.has(a))).toEqual([]);
    }
  });

  test('handlers carry the destination bucket owner for ExpectedBucketOwner', () => {
    templateOf({ destinationBucketOwner: '444455556666' }).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DESTINATION_BUCKET_OWNER: '444455556666', DESTINATION_BUCKET_NAME: 'my-archive-bucket' }) },
    });
  });
});

describe('GlacierVaultToS3Transfer wiring', () => {
  const template = templateOf({ chunkConcurrency: 33 });

  test('SQS consumers report partial batch failures with bounded concurrency', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as any[];
    const sqsMappings = mappings.filter((m) => m.Properties.FunctionResponseTypes && !m.Properties.StartingPosition);
    // The three work queues' consumers and the DeadLetterReconciler on their three dead-letter queues.
    expect(sqsMappings).toHaveLength(6);
    for (const m of sqsMappings) {
      expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(m.Properties.ScalingConfig.MaximumConcurrency).toBeGreaterThanOrEqual(2);
    }
    expect(sqsMappings.map((m) => m.Properties.ScalingConfig.MaximumConcurrency)).toContain(33);
  });

  test('the metrics processor reads archive items from the stream with a failure destination', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ dynamodb: { Keys: { sk: { S: ['archive'] } } } }) }] },
    });
  });

  test('every handler runs on Node.js 24, the major these tests run on; the archive-retrieval handlers get the configured chunk size', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function')) as any[];
    for (const f of fns) expect(f.Properties.Runtime).toBe('nodejs24.x');
    // The build installs its Node from npm (the `node` devDependency) so tests exercise the handlers
    // on the runtime they ship for.
    expect(`nodejs${process.versions.node.split('.')[0]}.x`).toBe('nodejs24.x');
    const copiers = fns.filter((f) => f.Properties.Environment?.Variables?.CHUNK_SIZE_BYTES);
    expect(copiers).toHaveLength(4);
    for (const f of copiers) {
      expect(f.Properties.Environment.Variables.CHUNK_SIZE_BYTES).toBe(String(1024 * 1024 * 1024));
    }
  });

  test('exposes configuration as attributes', () => {
    const { transfer } = makeStack({
      storageClass: DestinationStorageClass.GLACIER_IR,
      retrievalTier: RetrievalTier.STANDARD,
      dailyQuota: Size.tebibytes(10),
    });
    expect(transfer.storageClass).toBe('GLACIER_IR');
    expect(transfer.retrievalTier).toBe('Standard');
    expect(transfer.dailyQuotaBytes).toBe(10 * 2 ** 40);
    expect(transfer.destinationPrefix).toBe('');
  });
});

describe('GlacierVaultToS3Transfer dead-letter reconciler', () => {
  const template = templateOf({ messageMaxReceiveCount: 12 });
  const queues = template.findResources('AWS::SQS::Queue') as Record<string, any>;
  const idOf = (part: string): string => {
    const ids = Object.keys(queues).filter((id) => id.includes(part));
    expect(ids).toHaveLength(1);
    return ids[0];
  };
  const functions = template.findResources('AWS::Lambda::Function') as Record<string, any>;
  const reconcilerId = Object.keys(functions).find((id) => id.includes('DeadLetterReconciler'))!;
  const reconciler = functions[reconcilerId];
  const roleId = reconciler.Properties.Role['Fn::GetAtt'][0];
  const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as any[])
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
  const actions = statements.flatMap((s) => asArray(s.Action));

  test('is fed by exactly the notifications, chunk and validation dead-letter queues, reporting batch item failures', () => {
    const mappings = (Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as any[])
      .filter((m) => m.Properties.FunctionName.Ref === reconcilerId);
    expect(mappings.map((m) => m.Properties.EventSourceArn['Fn::GetAtt'][0]).sort())
      .toEqual(['NotificationsDeadLetterQueue', 'ChunkRetrievalDeadLetterQueue', 'ValidationDeadLetterQueue'].map(idOf).sort());
    for (const m of mappings) expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const env = reconciler.Properties.Environment.Variables;
    expect(env.NOTIFICATIONS_DLQ_ARN).toEqual({ 'Fn::GetAtt': [idOf('NotificationsDeadLetterQueue'), 'Arn'] });
    expect(env.NOTIFICATIONS_MAX_RECEIVES).toBe('12');
  });

  test('a dead-letter queue message whose reconciling keeps failing moves on to the unreconciled queue, bounded', () => {
    const unreconciled = idOf('UnreconciledQueue');
    expect(queues[unreconciled].Properties.RedrivePolicy).toBeUndefined();
    const redrive = (part: string) => queues[idOf(part)].Properties.RedrivePolicy;
    expect(redrive('ChunkRetrievalDeadLetterQueue')).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [unreconciled, 'Arn'] }, maxReceiveCount: 40 + 5 });
    expect(redrive('NotificationsDeadLetterQueue').maxReceiveCount).toBe(12 + 5);
    expect(redrive('ValidationDeadLetterQueue').maxReceiveCount).toBe(12 + 5);
  });

  test('least privilege: reads archive items and updates them, writes only <run>/dead_letters/, sends only to the unreconciled queue; no Glacier; only reads the destination', () => {
    expect(actions.filter((a) => a.startsWith('glacier:'))).toEqual([]);
    expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']));
    expect(actions).not.toEqual(expect.arrayContaining(['dynamodb:PutItem']));
    expect(actions).not.toEqual(expect.arrayContaining(['dynamodb:DeleteItem']));
    const s3Statements = statements.filter((s) => asArray(s.Action).some((a: string) => a.startsWith('s3:')));
    expect(s3Statements).toHaveLength(2);
    const [destination, inventory] = [...s3Statements].sort((a) => (a.Sid === 'VerifyDestinationObjects' ? -1 : 1));
    expect(JSON.stringify(inventory.Resource)).toContain('/*/dead_letters/*');
    expect(JSON.stringify(inventory.Resource)).not.toContain('my-archive-bucket');
    // HeadObject of the archive's key (a copy that landed before its function died): read only,
    // only while the bucket belongs to the expected owner.
    expect(destination.Sid).toBe('VerifyDestinationObjects');
    expect(asArray(destination.Action)).toEqual(['s3:GetObject']);
    expect(JSON.stringify(destination.Resource)).toContain('my-archive-bucket');
    expect(destination.Condition).toEqual({ StringEquals: { 's3:ResourceAccount': expect.anything() } });
    const sends = statements.filter((s) => asArray(s.Action).includes('sqs:SendMessage'));
    expect(sends.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [idOf('UnreconciledQueue'), 'Arn'] }]);
  });

  test('the dead-letter alarm watches the unreconciled queue and the stream on-failure queue, not the reconciled DLQs', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
    const deadLetter = alarms.find((a) => String(a.Properties.AlarmDescription).includes('unreconciled queue'));
    expect(deadLetter).toBeDefined();
    const watched = JSON.stringify(deadLetter.Properties.Metrics);
    expect(watched).toContain(idOf('UnreconciledQueue'));
    expect(watched).toContain(idOf('StreamDeadLetterQueue'));
    expect(watched).not.toContain(idOf('ChunkRetrievalDeadLetterQueue'));
  });
});

describe('GlacierVaultToS3Transfer lost-notification recovery props', () => {
  /** Environment variables of the RecoverLostNotifications function of the transfer. */
  const recoveryEnv = (props: Partial<GlacierVaultToS3TransferProps> = {}): Record<string, unknown> => {
    const { stack, transfer } = makeStack(props);
    const id = stack.getLogicalId(transfer.downloadWindowExtension.recoverLostNotifications.node.defaultChild as CfnElement);
    return Template.fromStack(stack).findResources('AWS::Lambda::Function')[id].Properties.Environment.Variables;
  };

  test('defaults reach RecoverLostNotifications when the props are left out', () => {
    expect(recoveryEnv()).toMatchObject({
      ARCHIVE_JOB_OVERDUE_SECONDS_EXPEDITED: '1800',
      ARCHIVE_JOB_OVERDUE_SECONDS_STANDARD: '21600',
      ARCHIVE_JOB_OVERDUE_SECONDS_BULK: '43200',
      ARCHIVE_JOB_REPOLL_SECONDS: '3600',
      ARCHIVE_JOB_MAX_POLLS: '500',
    });
  });

  test('are passed through to RecoverLostNotifications; tiers left out keep their default', () => {
    expect(recoveryEnv({
      archiveJobOverdueAfter: { expedited: Duration.minutes(10), bulk: Duration.hours(20) },
      overdueJobRepollInterval: Duration.minutes(45),
      maxJobPollsPerCheck: 50,
    })).toMatchObject({
      ARCHIVE_JOB_OVERDUE_SECONDS_EXPEDITED: '600',
      ARCHIVE_JOB_OVERDUE_SECONDS_STANDARD: '21600',
      ARCHIVE_JOB_OVERDUE_SECONDS_BULK: '72000',
      ARCHIVE_JOB_REPOLL_SECONDS: '2700',
      ARCHIVE_JOB_MAX_POLLS: '50',
    });
  });

  test.each([
    ['a 24-hour bulk threshold', { archiveJobOverdueAfter: { bulk: Duration.hours(24) } }, /archiveJobOverdueAfter\.bulk must be from 1 minute to less than 24 hours, got 86400 seconds/],
    ['a 30-second expedited threshold', { archiveJobOverdueAfter: { expedited: Duration.seconds(30) } }, /archiveJobOverdueAfter\.expedited must be from 1 minute to less than 24 hours/],
    ['a fractional standard threshold', { archiveJobOverdueAfter: { standard: Duration.millis(90_500) } }, /archiveJobOverdueAfter\.standard must be a whole number of seconds/],
    ['a 30-second re-poll interval', { overdueJobRepollInterval: Duration.seconds(30) }, /overdueJobRepollInterval must be at least 1 minute, got 30 seconds/],
    ['zero polls per check', { maxJobPollsPerCheck: 0 }, /maxJobPollsPerCheck must be an integer from 1 to 10000, got 0/],
    ['fractional polls per check', { maxJobPollsPerCheck: 2.5 }, /maxJobPollsPerCheck must be an integer from 1 to 10000, got 2.5/],
    ['20,000 polls per check', { maxJobPollsPerCheck: 20_000 }, /maxJobPollsPerCheck must be an integer from 1 to 10000/],
  ])('rejects %s, naming the prop', (_label, props, message) => {
    expect(() => makeStack(props as any)).toThrow(message);
  });
});

describe('GlacierVaultToS3Transfer prop validation', () => {
  test.each([
    ['chunk size 3 MiB', { chunkSize: Size.mebibytes(3) }, /chunkSize must be a power-of-two number of MiB/],
    ['chunk size 4 MiB', { chunkSize: Size.mebibytes(4) }, /chunkSize must be between/],
    ['chunk size 8 GiB', { chunkSize: Size.gibibytes(8) }, /chunkSize must be between/],
    ['zero daily quota', { dailyQuota: Size.bytes(0) }, /dailyQuota must be greater than zero/],
    ['zero partition size', { partitionSize: Size.bytes(0) }, /partitionSize must be greater than zero/],
    ['60 TiB archive limit', { maxArchiveSize: Size.tebibytes(60) }, /maxArchiveSize must be at most/],
    ['no allowed vaults', { allowedVaultNames: [] }, /allowedVaultNames must name at least one vault/],
    ['invalid vault name', { allowedVaultNames: ['bad name!'] }, /not a valid vault name/],
    ['absolute prefix', { destinationPrefix: '/abs' }, /must not start with '\/'/],
    ['prefix with ..', { destinationPrefix: 'a/../b' }, /must not contain '.' or '..' segments/],
    ['600-byte prefix', { destinationPrefix: 'x'.repeat(600) }, /at most 512 UTF-8 bytes/],
    // Issue 22: the prefix is copied into IAM ARNs; `*` would give bucket/*/*.
    ['allowed tiers without the configured one', { retrievalTier: 'Standard', allowedRetrievalTiers: ['Bulk'] }, /allowedRetrievalTiers \(Bulk\) must include retrievalTier Standard/],
    ['request cap 0', { maxRetrievalRequestsPerRun: 0 }, /maxRetrievalRequestsPerRun must be a whole number of requests of at least 1/],
    ['negative dollar cap', { maxRetrievalDollarsPerRun: -1 }, /maxRetrievalDollarsPerRun must be a number of US dollars above 0/],
    ['tolerance above 100 %', { providedInventoryTolerancePercent: 150 }, /providedInventoryTolerancePercent must be a percentage from 0 to 100, got 150/],
    ['wildcard prefix', { destinationPrefix: '*' }, /destinationPrefix: Invalid key prefix "\*\/": contains \*, \? or \$\{/],
    ['prefix with ?', { destinationPrefix: 'photos?' }, /contains \*, \? or \$\{/],
    ['prefix with a policy variable', { destinationPrefix: 'home/${aws:username}' }, /contains \*, \? or \$\{/],
    ['prefix with an empty segment', { destinationPrefix: 'a//b' }, /destinationPrefix: Invalid key prefix/],
    ['chunk concurrency 1', { chunkConcurrency: 1 }, /chunkConcurrency must be an integer from 2 to 1000/],
    ['64 MiB chunk memory', { chunkMemorySize: 64 }, /chunkMemorySize must be an integer from 128 to 10240/],
    ['unknown inventory engine', { inventoryEngine: 'spark' }, /inventoryEngine must be one of 'auto', 'lambda', 'glue', got "spark"/],
  ])('rejects %s', (_label, props, message) => {
    expect(() => makeStack(props as any)).toThrow(message);
  });

  // A prop a stage checks again must fail before the L3 builds any child (the error used to come
  // after storage and the first stages had been added to the tree).
  test.each([
    ['request cap 0', { maxRetrievalRequestsPerRun: 0 }],
    ['tolerance above 100 %', { providedInventoryTolerancePercent: 150 }],
    ['a 30-second re-poll interval', { overdueJobRepollInterval: Duration.seconds(30) }],
    ['zero polls per check', { maxJobPollsPerCheck: 0 }],
    ['decommissioning without allowed vaults', { enableDecommissioning: true }],
    ['an unknown inventory engine', { inventoryEngine: 'spark' as InventoryEngine }],
  ])('rejects %s before building any child', (_label, props) => {
    const app = new App();
    const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
    const bucket = s3.Bucket.fromBucketName(stack, 'Destination', 'my-archive-bucket');
    expect(() => new GlacierVaultToS3Transfer(stack, 'Transfer', { destinationBucket: bucket, ...props })).toThrow();
    expect(stack.node.findChild('Transfer').node.children.map((c) => c.node.id)).toEqual([]);
  });

  test('inventoryEngine reaches InventoryRetrieval: GLUE sends every inventory to the Glue job', () => {
    const threshold = (props: Partial<GlacierVaultToS3TransferProps>) => {
      const { stack, transfer } = makeStack(props);
      const id = stack.getLogicalId(transfer.inventoryRetrieval.stateMachine.node.defaultChild as CfnElement);
      const text = JSON.stringify(Template.fromStack(stack).toJSON().Resources[id].Properties.DefinitionString);
      return Number(/NumericGreaterThan\\":(-?\d+)/.exec(text)?.[1]);
    };
    expect(threshold({})).toBe(400 * 1024 ** 2);
    expect(threshold({ inventoryEngine: InventoryEngine.GLUE })).toBe(-1);
  });

  test('normalises the destination prefix with a trailing slash', () => {
    expect(makeStack({ destinationPrefix: 'vaults/photos' }).transfer.destinationPrefix).toBe('vaults/photos/');
    expect(makeStack({ destinationPrefix: 'vaults/photos/' }).transfer.destinationPrefix).toBe('vaults/photos/');
  });
});

describe('cdk-nag AwsSolutions', () => {
  test('no unsuppressed errors or warnings, and every suppression has a reason', () => {
    const { stack, app } = makeStack({ allowedVaultNames: ['photos'] }, true);
    app.synth();
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
    expect(warnings.map((w) => `${w.id}: ${w.entry.data}`)).toEqual([]);
    const template = Template.fromStack(stack).toJSON();
    for (const resource of Object.values(template.Resources) as any[]) {
      for (const s of resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) {
        expect(s.reason.length).toBeGreaterThan(20);
      }
    }
  });
});

describe('snapshot', () => {
  test('template matches, asset hashes masked', () => {
    const json = JSON.stringify(templateOf({ allowedVaultNames: ['photos'] }).toJSON())
      .replace(/[0-9a-f]{64}\.zip/g, '<asset>.zip')
      // Glue script and modules (their hashes change with every edit of glue/*.py).
      .replace(/[0-9a-f]{64}\.py/g, '<asset>.py')
      .replace(/"S3Key":"[^"]+"/g, '"S3Key":"<asset>"');
    expect(JSON.parse(json)).toMatchSnapshot();
  });
});
