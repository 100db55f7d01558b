import { App, CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { makeStack } from './helpers';
import { GlacierVaultToS3Transfer } from '../../src';
import { RUN_EVENT_SOURCE } from '../../src/constructs/orchestrator';

const RUN_EVENTS = ['Transfer Run Completed', 'Transfer Run Failed', 'Transfer Run Stopped'];

/** The dashboard body with tokens rendered as `<token>`, parsed. */
function dashboardBody(template: Template): any {
  const dashboards = Object.values<any>(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const raw = dashboards[0].Properties.DashboardBody;
  const text = typeof raw === 'string' ? raw : (raw['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '<token>')).join('');
  return JSON.parse(text);
}

/** Like {@link dashboardBody}, but a `{ Ref }` token is rendered as `Ref(<logical id>)`. */
function dashboardBodyWithRefs(template: Template): any {
  const [dashboard] = Object.values<any>(template.findResources('AWS::CloudWatch::Dashboard'));
  const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((p: any) => (typeof p === 'string' ? p : p.Ref ? `Ref(${p.Ref})` : '<token>')).join(''));
}

describe('TransferDashboard without notification emails', () => {
  const { stack, transfer } = makeStack();
  const template = Template.fromStack(stack);
  const ns = transfer.orchestrator.metricsNamespace;

  test('per-run metrics of every status, counts and bytes, on the RunId dimension', () => {
    const body = dashboardBody(template);
    const metrics = body.widgets.flatMap((w: any) => w.properties.metrics ?? []);
    const perRun = metrics.filter((m: any[]) => m[0] === ns);
    const names = new Set(perRun.map((m: any[]) => m[1]));
    for (const status of ['Total', 'Pending', 'Requested', 'Staged', 'Downloaded', 'Failed', 'Skipped']) {
      expect(names).toContain(`${status}Count`);
      expect(names).toContain(`${status}Bytes`);
    }
    // Every per-run metric (transfer or decommission) is selected by the RunId dimension.
    for (const m of perRun) {
      const dimensionNames = m.slice(2).filter((x: unknown, i: number) => i % 2 === 0 && typeof x === 'string');
      expect(dimensionNames).toContain('RunId');
    }
    const titles = body.widgets.map((w: any) => w.properties.title).filter(Boolean);
    expect(titles).toEqual(expect.arrayContaining(['Archives', 'Bytes', 'Progress (archives)', 'Throughput', 'Estimated time left (hours)', 'Dead-letter messages']));
  });

  test('the Lambda errors widget shows the errors of ExecutionEnded (run by an EventBridge rule, not the state machine)', () => {
    const endedId = stack.getLogicalId(transfer.orchestrator.executionEnded.node.defaultChild as CfnElement);
    const widget = dashboardBodyWithRefs(template).widgets.find((w: any) => w.properties.title === 'Lambda errors and throttles');
    const metrics: any[][] = widget.properties.metrics;
    const ended = metrics.filter((m) => m.includes(`Ref(${endedId})`));
    expect(ended).toEqual([[
      'AWS/Lambda', 'Errors', 'FunctionName', `Ref(${endedId})`,
      { label: 'ExecutionEnded errors', stat: 'Sum' }, // left axis (the default): errors, not throttles
    ]]);
    // The errors of the state machine's own functions are still there.
    for (const fn of transfer.orchestrator.functions) {
      const id = stack.getLogicalId(fn.node.defaultChild as CfnElement);
      expect(metrics.filter((m) => m[1] === 'Errors' && m.includes(`Ref(${id})`))).toHaveLength(1);
    }
  });

  test('an alarm fires on the first ExecutionEnded error (a run may be left ACTIVE with its vault locked)', () => {
    const endedId = stack.getLogicalId(transfer.orchestrator.executionEnded.node.defaultChild as CfnElement);
    const alarmId = stack.getLogicalId(transfer.dashboard.executionEndedAlarm!.node.defaultChild as CfnElement);
    const alarm = template.findResources('AWS::CloudWatch::Alarm')[alarmId];
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: endedId } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.Properties.AlarmDescription).toMatch(/ACTIVE with the vault locked/);
  });

  test('metricExecutionEndedErrors is the Lambda Errors metric of ExecutionEnded, summed over 5 minutes', () => {
    const metric = transfer.orchestrator.metricExecutionEndedErrors();
    expect(metric).toMatchObject({ namespace: 'AWS/Lambda', metricName: 'Errors', statistic: 'Sum' });
    expect(metric.period.toMinutes()).toBe(5);
    expect(metric.dimensions).toEqual({ FunctionName: transfer.orchestrator.executionEnded.functionName });
    expect(transfer.orchestrator.metricExecutionEndedErrors({ period: Duration.minutes(1) }).period.toMinutes()).toBe(1);
  });

  test('a run selector variable on RunId, filled by a metric search of the namespace', () => {
    const body = dashboardBody(template);
    expect(body.variables).toHaveLength(1);
    const v = body.variables[0];
    expect(v).toMatchObject({ type: 'property', property: 'RunId', inputType: 'select', id: 'RunId', visible: true });
    expect(JSON.stringify(v.search ?? v)).toContain(JSON.stringify(`{"${ns}",RunId}`).slice(1, -1));
  });

  test('alarm on the depth of what the dead-letter reconciler leaves (unreconciled queue, stream on-failure queue): any message alarms', () => {
    const alarm = template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmDescription: Match.stringLikeRegexp('unreconciled queue') } });
    const [props] = Object.values<any>(alarm).map((a) => a.Properties);
    expect(props).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    const queues = props.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric);
    expect(queues).toHaveLength(2);
    for (const q of queues) {
      expect(q).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' });
      expect(JSON.stringify(q.Dimensions)).toMatch(/UnreconciledQueue|StreamDeadLetterQueue/);
    }
    expect(props.AlarmActions).toBeUndefined();
  });

  test('alarm on stalled progress after 36 hours by default', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: ns,
      MetricName: 'MinutesSinceProgress',
      Threshold: 36 * 60,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: Match.absent(),
    });
  });

  test('the run-event rule exists without targets; no topic, key or subscription', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': [RUN_EVENT_SOURCE], 'detail-type': RUN_EVENTS },
      Targets: Match.absent(),
    });
    expect(transfer.dashboard.notificationTopic).toBeUndefined();
    const topics = Object.keys(template.findResources('AWS::SNS::Topic'));
    expect(topics).toEqual([expect.stringMatching(/^TransferStorageNotificationTopic/)]); // Glacier's job topic only
    expect(Object.values<any>(template.findResources('AWS::SNS::Subscription')).filter((s) => s.Properties.Protocol === 'email')).toEqual([]);
    expect(template.findResources('AWS::KMS::Key')).toEqual({});
  });
});

describe('TransferDashboard with notification emails', () => {
  const { stack, transfer, app } = makeStack({
    allowedVaultNames: ['photos'],
    notificationEmails: ['ops@example.com', 'archive-team@example.com'],
    stallThreshold: Duration.hours(12),
  }, true);
  app.synth();
  const template = Template.fromStack(stack);
  const topicId = stack.getLogicalId(transfer.dashboard.notificationTopic!.node.defaultChild as any);
  const keyId = stack.getLogicalId(transfer.dashboard.notificationKey!.node.defaultChild as any);

  test('an SNS topic encrypted with a rotated customer managed key', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    const key = template.findResources('AWS::KMS::Key')[keyId];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    // EventBridge (run events) and CloudWatch (alarms) publish to the topic, so they need the key.
    const statements = key.Properties.KeyPolicy.Statement as any[];
    const services = statements.filter((s) => s.Principal?.Service).flatMap((s) => [s.Principal.Service].flat());
    expect(services.sort()).toEqual(['cloudwatch.amazonaws.com', 'events.amazonaws.com']);
    for (const s of statements.filter((x) => x.Principal?.Service)) expect([s.Action].flat().sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
  });

  test('TLS-only topic policy', () => {
    const policy = Object.values<any>(template.findResources('AWS::SNS::TopicPolicy'))
      .find((p) => p.Properties.Topics.some((t: any) => t.Ref === topicId));
    expect(policy.Properties.PolicyDocument.Statement).toEqual(expect.arrayContaining([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Resource: { Ref: topicId } }),
    ]));
  });

  test('one email subscription per address', () => {
    const emails = Object.values<any>(template.findResources('AWS::SNS::Subscription'))
      .filter((s) => s.Properties.Protocol === 'email');
    expect(emails.map((s) => s.Properties.Endpoint).sort()).toEqual(['archive-team@example.com', 'ops@example.com']);
    for (const s of emails) expect(s.Properties.TopicArn).toEqual({ Ref: topicId });
  });

  test('the run completed/failed/stopped rule targets the topic with a readable message', () => {
    const rules = template.findResources('AWS::Events::Rule', {
      Properties: { EventPattern: { 'source': [RUN_EVENT_SOURCE], 'detail-type': RUN_EVENTS } },
    });
    const [rule] = Object.values<any>(rules);
    expect(Object.keys(rules)).toHaveLength(1);
    expect(rule.Properties.Targets).toHaveLength(1);
    const target = rule.Properties.Targets[0];
    expect(target.Arn).toEqual({ Ref: topicId });
    expect(target.InputTransformer.InputPathsMap).toMatchObject({ 'detail-runId': '$.detail.runId', 'detail-state': '$.detail.state' });
    expect(target.InputTransformer.InputTemplate).toContain('<detail-runId>');
  });

  test('every alarm (dead letters, stall, ExecutionEnded errors) notifies the topic; the stall threshold is configurable', () => {
    const alarms = Object.values<any>(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(3);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'MinutesSinceProgress', Threshold: 12 * 60 });
  });

  test('cdk-nag: no unsuppressed errors or warnings', () => {
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${e.entry.data}`)).toEqual([]);
    expect(warnings.map((w) => `${w.id}: ${w.entry.data}`)).toEqual([]);
  });
});

test('an empty notificationEmails list creates no topic', () => {
  const { stack, transfer } = makeStack({ notificationEmails: [] });
  expect(transfer.dashboard.notificationTopic).toBeUndefined();
  expect(Template.fromStack(stack).findResources('AWS::KMS::Key')).toEqual({});
});

describe('dashboard and alarms per deployment (two transfers in one account)', () => {
  const app = new App();
  const transfers = ['Blue', 'Green'].map((name) => {
    const stack = new Stack(app, name, { env: { account: '111122223333', region: 'eu-west-1' } });
    const bucket = s3.Bucket.fromBucketName(stack, 'Destination', `${name.toLowerCase()}-archive-bucket`);
    return { stack, transfer: new GlacierVaultToS3Transfer(stack, 'Transfer', { destinationBucket: bucket }) };
  });
  // Two in one stack too: the construct path tells them apart.
  const shared = new Stack(app, 'Shared', { env: { account: '111122223333', region: 'eu-west-1' } });
  const sharedBucket = s3.Bucket.fromBucketName(shared, 'Destination', 'shared-archive-bucket');
  const inOneStack = ['One', 'Two'].map((id) => new GlacierVaultToS3Transfer(shared, id, { destinationBucket: sharedBucket }));

  test('each deployment publishes, lists runs and alarms in its own metrics namespace', () => {
    const namespaces = [...transfers.map((t) => t.transfer.orchestrator.metricsNamespace), ...inOneStack.map((t) => t.orchestrator.metricsNamespace)];
    expect(new Set(namespaces).size).toBe(4);
    for (const { stack, transfer } of transfers) {
      const ns = transfer.orchestrator.metricsNamespace;
      const template = Template.fromStack(stack);
      const stalledId = stack.getLogicalId(transfer.dashboard.stalledAlarm.node.defaultChild as CfnElement);
      expect(template.findResources('AWS::CloudWatch::Alarm')[stalledId].Properties).toMatchObject({ Namespace: ns, MetricName: 'MinutesSinceProgress' });
      const body = dashboardBody(template);
      expect(body.variables[0].search).toBe(`{"${ns}",RunId} MetricName="TotalCount"`);
      // What the DashboardUpdate function is told to publish to.
      const dashboardUpdateId = stack.getLogicalId(transfer.orchestrator.dashboardUpdate.node.defaultChild as CfnElement);
      expect(template.findResources('AWS::Lambda::Function')[dashboardUpdateId].Properties.Environment.Variables.METRICS_NAMESPACE).toBe(ns);
    }
  });
});

describe('dead letters and errors of every stage are on the dashboard', () => {
  const { stack, transfer } = makeStack();
  const template = Template.fromStack(stack);
  const ref = (c: { node: { defaultChild?: unknown } }): string => `Ref(${stack.getLogicalId(c.node.defaultChild as CfnElement)})`;
  const queueName = (q: { node: { defaultChild?: unknown } }): string => `GetAtt(${stack.getLogicalId(q.node.defaultChild as CfnElement)}.QueueName)`;
  const body = (() => {
    const [dashboard] = Object.values<any>(template.findResources('AWS::CloudWatch::Dashboard'));
    const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
    return JSON.parse(parts.map((p: any) => (typeof p === 'string' ? p : p.Ref ? `Ref(${p.Ref})` : p['Fn::GetAtt'] ? `GetAtt(${p['Fn::GetAtt'].join('.')})` : '<token>')).join(''));
  })();
  const widget = (title: string): any => body.widgets.find((w: any) => w.properties.title === title);

  test('the DLQ widget shows messages waiting in every DLQ, those reconciled, and those left unreconciled; the alarm watches only what needs an operator', () => {
    const s = transfer.storage;
    const reconciled = [s.notificationsDeadLetterQueue, s.chunkDeadLetterQueue, s.validationDeadLetterQueue];
    const metrics = (widget('Dead-letter messages').properties.metrics as any[][]).filter((m) => m[0] === 'AWS/SQS');
    const of = (name: string) => metrics.filter((m) => m[1] === name).map((m) => m[3]).sort();
    expect(of('ApproximateNumberOfMessagesVisible')).toEqual(
      [...reconciled, s.streamDeadLetterQueue, s.unreconciledQueue, s.streamDeadLetterQueue].map(queueName).sort());
    expect(of('NumberOfMessagesDeleted')).toEqual(reconciled.map(queueName).sort());
    const alarmId = stack.getLogicalId(transfer.dashboard.deadLetterAlarm.node.defaultChild as CfnElement);
    const alarm = template.findResources('AWS::CloudWatch::Alarm')[alarmId].Properties;
    const alarmQueues = alarm.Metrics.filter((m: any) => m.MetricStat).map((m: any) => `GetAtt(${m.MetricStat.Metric.Dimensions[0].Value['Fn::GetAtt'].join('.')})`);
    expect(alarmQueues.sort()).toEqual([s.unreconciledQueue, s.streamDeadLetterQueue].map(queueName).sort());
    // A queue without a datapoint in a period must not drop the sum.
    expect(alarm.Metrics.find((m: any) => m.Expression).Expression).toBe('FILL(unreconciled, 0) + FILL(streamFailures, 0)');
  });

  test('the errors widget has every request-stage function; the decommission row has its own', () => {
    const errors = (widget('Lambda errors and throttles').properties.metrics as any[][]).filter((m) => m[1] === 'Errors');
    const fns = [
      transfer.initiateRetrieval.initiateArchiveRetrieval,
      transfer.inventoryRetrieval.initiateInventoryRetrieval, transfer.inventoryRetrieval.jobPoller, transfer.inventoryRetrieval.chunkDownload,
      transfer.inventoryRetrieval.validation, transfer.inventoryRetrieval.processInventory,
      transfer.downloadWindowExtension.recoverLostNotifications, transfer.downloadWindowExtension.archivesNeedingWindowExtension,
      transfer.downloadWindowExtension.extendDownloadWindow,
      ...transfer.orchestrator.functions,
    ];
    for (const fn of fns) expect(errors.filter((m) => m.includes(ref(fn)))).toHaveLength(1);
    const d = transfer.decommission;
    const decommissionErrors = (widget('Decommission errors').properties.metrics as any[][]).map((m) => m[3]);
    expect(decommissionErrors.sort()).toEqual([d.listRunArchives, d.decommissionBatch, d.report, d.vaultFinalizer].map(ref).sort());
  });
});
