import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { ACCOUNT, actionsOf, build, definitionOf, REGION, resourcesOf, STAR_ONLY_ACTIONS, statementsOf, VAULT_ARNS } from './request-stages';
import { placeholdersOf } from '../../src/asl/definitions';
import { DownloadWindowExtension } from '../../src/constructs/download-window-extension';
import { TransferStorage } from '../../src/constructs/transfer-storage';

describe('DownloadWindowExtension construct', () => {
  const { template, extension, stack } = build();

  test('the definition has no unresolved placeholder and only reserved error names', () => {
    const { text, substitutions } = definitionOf(template, 'DownloadWindowExtensionStateMachine');
    const names = placeholdersOf(text);
    expect(new Set(names)).toEqual(new Set([
      'Partition', 'InventoryBucket', 'NotificationTopicArn', 'ArchivesNeedingWindowExtensionFunctionArn', 'ExtendDownloadWindowFunctionArn', 'RecoverLostNotificationsFunctionArn',
    ]));
    for (const name of names) expect(substitutions[name]).toBeDefined();
    expect(text).not.toMatch(/States\.All\b/);
    const def = JSON.parse(text);
    expect(def.StartAt).toBe('RecoverLostNotifications');
    // A failed recovery never keeps the window extension from running.
    expect(def.States.RecoverLostNotifications.Next).toBe('FindArchivesNeedingExtension');
    expect(def.States.RecoverLostNotifications.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.recoveryError', Next: 'FindArchivesNeedingExtension' }]);
    expect(def.States.RecoverLostNotifications.Parameters.Payload).toEqual({ 'runId.$': '$.runId', 'tier.$': '$.tier' });
  });

  test('logging ALL without execution data, X-Ray, bounded duration', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: Match.stringLikeRegexp('DownloadWindowExtension'),
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [Match.anyValue()] },
      TracingConfiguration: { Enabled: true },
    });
    const { text } = definitionOf(template, 'DownloadWindowExtensionStateMachine');
    expect(JSON.parse(text).TimeoutSeconds).toBe(7200);
  });

  test('a schedule rule every 30 minutes with no target; the schedule role may only start this state machine', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(30 minutes)', State: 'ENABLED' });
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as any[];
    expect(rules).toHaveLength(1);
    expect(rules[0].Properties.Targets).toBeUndefined();
    const statements = statementsOf(template, 'DownloadWindowExtensionScheduleRole');
    expect(statements).toHaveLength(1);
    expect(actionsOf(statements[0])).toEqual(['states:StartExecution']);
    expect(resourcesOf(statements[0])).toEqual([{ Ref: Match.stringLikeRegexp('DownloadWindowExtensionStateMachine') }].map(() => expect.objectContaining({ Ref: expect.stringMatching(/^DownloadWindowExtensionStateMachine/) })));
  });

  test('the scan reads only the StatusIndex and writes only the extension lists', () => {
    const statements = statementsOf(template, 'DownloadWindowExtensionArchivesNeedingWindowExtensionServiceRole');
    const query = statements.find((s) => actionsOf(s).includes('dynamodb:Query'))!;
    expect(JSON.stringify(query.Resource)).toContain('/index/StatusIndex');
    const write = statements.find((s) => actionsOf(s).includes('s3:PutObject'))!;
    expect(JSON.stringify(write.Resource)).toContain('/tmp/*/window-extension/*');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ WINDOW_EXTENSION_MARGIN_SECONDS: '18000', INVENTORY_BUCKET_NAME: Match.anyValue() }) },
    });
  });

  test('no "*" resource except for actions whose API requires it; the state machine invokes only its three functions', () => {
    for (const s of statementsOf(template, 'DownloadWindowExtension')) {
      if (resourcesOf(s).includes('*')) for (const a of actionsOf(s)) expect({ action: a, starOnly: STAR_ONLY_ACTIONS.has(a) }).toEqual({ action: a, starOnly: true });
    }
    const invoke = statementsOf(template, 'DownloadWindowExtensionStateMachineRole').filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(resourcesOf(invoke[0])).toHaveLength(6);
  });

  test('RecoverLostNotifications: DescribeJob only on the allowed vaults, SendMessage only to the notifications queue, Query only on the StatusIndex', () => {
    const statements = statementsOf(template, 'DownloadWindowExtensionRecoverLostNotificationsServiceRole');
    const allActions = statements.flatMap(actionsOf);
    const glacier = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('glacier:')));
    expect(glacier).toHaveLength(1);
    expect(actionsOf(glacier[0])).toEqual(['glacier:DescribeJob']);
    expect(resourcesOf(glacier[0])).toEqual(VAULT_ARNS);
    const sqs = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
    expect(sqs).toHaveLength(1);
    expect(actionsOf(sqs[0])).toEqual(['sqs:SendMessage']);
    expect(resourcesOf(sqs[0])).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^StorageNotificationsQueue/), 'Arn'] }]);
    const query = statements.find((s) => actionsOf(s).includes('dynamodb:Query'))!;
    expect(actionsOf(query)).toEqual(['dynamodb:Query']);
    expect(JSON.stringify(query.Resource)).toContain('/index/StatusIndex');
    const update = statements.find((s) => actionsOf(s).includes('dynamodb:UpdateItem'))!;
    expect(actionsOf(update)).toEqual(['dynamodb:UpdateItem']);
    expect(JSON.stringify(update.Resource)).toMatch(/StorageTransferTable/);
    // Nothing else: no Glacier job start, no S3, no reads beyond the index, no other queue action.
    expect(allActions.filter((a) => !['glacier:DescribeJob', 'sqs:SendMessage', 'dynamodb:Query', 'dynamodb:UpdateItem'].includes(a))).toEqual([]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          NOTIFICATIONS_QUEUE_URL: { Ref: Match.stringLikeRegexp('^StorageNotificationsQueue') },
          ARCHIVE_JOB_OVERDUE_SECONDS_EXPEDITED: '1800',
          ARCHIVE_JOB_OVERDUE_SECONDS_STANDARD: '21600',
          ARCHIVE_JOB_OVERDUE_SECONDS_BULK: '43200',
          ARCHIVE_JOB_REPOLL_SECONDS: '3600',
          ARCHIVE_JOB_MAX_POLLS: '500',
          TRANSFER_TABLE_NAME: Match.anyValue(),
        }),
      },
    });
  });

  test('overdue thresholds, re-poll interval and poll bound are validated and passed on', () => {
    const { template: t } = build({}, {
      archiveJobOverdueAfter: { bulk: Duration.hours(20), expedited: Duration.minutes(10) },
      overdueJobRepollInterval: Duration.minutes(45),
      maxJobPollsPerCheck: 50,
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ARCHIVE_JOB_OVERDUE_SECONDS_EXPEDITED: '600',
          ARCHIVE_JOB_OVERDUE_SECONDS_STANDARD: '21600',
          ARCHIVE_JOB_OVERDUE_SECONDS_BULK: '72000',
          ARCHIVE_JOB_REPOLL_SECONDS: '2700',
          ARCHIVE_JOB_MAX_POLLS: '50',
        }),
      },
    });
    expect(() => build({}, { archiveJobOverdueAfter: { bulk: Duration.hours(24) } })).toThrow(/archiveJobOverdueAfter\.bulk/);
    expect(() => build({}, { overdueJobRepollInterval: Duration.seconds(30) })).toThrow(/overdueJobRepollInterval/);
    expect(() => build({}, { maxJobPollsPerCheck: 0 })).toThrow(/maxJobPollsPerCheck/);
  });

  test('with a customer managed key, RecoverLostNotifications may use it (queue messages, table writes)', () => {
    const app = new App();
    const keyed = new Stack(app, 'Keyed', { env: { account: ACCOUNT, region: REGION } });
    const key = new kms.Key(keyed, 'Key');
    const storage = new TransferStorage(keyed, 'Storage', { encryptionKey: key });
    new DownloadWindowExtension(keyed, 'DownloadWindowExtension', { storage, vaultArns: VAULT_ARNS, dailyQuotaBytes: 1024 ** 4 });
    const statements = statementsOf(Template.fromStack(keyed), 'DownloadWindowExtensionRecoverLostNotificationsServiceRole');
    const kmsActions = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
    expect(kmsActions.flatMap(actionsOf)).toEqual(expect.arrayContaining(['kms:GenerateDataKey', 'kms:Decrypt']));
    for (const s of kmsActions) expect(resourcesOf(s)).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] }]);
  });

  test('margin and interval are validated and passed on', () => {
    const { template: t } = build({}, { extensionMargin: Duration.hours(8), checkInterval: Duration.minutes(15) });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ WINDOW_EXTENSION_MARGIN_SECONDS: '28800' }) } });
    expect(() => build({}, { extensionMargin: Duration.minutes(20), checkInterval: Duration.minutes(30) })).toThrow(/checkInterval/);
  });

  test('grantScheduleTargets lets the orchestrator add and remove run targets and pass the schedule role', () => {
    const orchestrator = new iam.Role(stack, 'Orchestrator', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    extension.grantScheduleTargets(orchestrator);
    const statements = (stack.resolve((orchestrator as any).defaultPolicy?.document) ?? { Statement: [] }).Statement as any[];
    expect(statements.find((s) => [].concat(s.Action).includes('events:PutTargets' as never))).toBeDefined();
    expect(statements.find((s) => s.Action === 'iam:PassRole')).toBeDefined();
  });
});
