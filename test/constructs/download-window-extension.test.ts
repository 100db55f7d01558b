import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { actionsOf, build, definitionOf, resourcesOf, STAR_ONLY_ACTIONS, statementsOf } from './request-stages';

describe('DownloadWindowExtension construct', () => {
  const { template, extension, stack } = build();

  test('the definition has no unresolved placeholder and only reserved error names', () => {
    const { text, substitutions } = definitionOf(template, 'DownloadWindowExtensionStateMachine');
    const names = [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
    expect(new Set(names)).toEqual(new Set(['InventoryBucket', 'NotificationTopicArn', 'ArchivesNeedingWindowExtensionFunctionArn', 'ExtendDownloadWindowFunctionArn']));
    for (const name of names) expect(substitutions[name]).toBeDefined();
    expect(text).not.toMatch(/States\.All\b/);
    expect(JSON.parse(text).StartAt).toBe('FindArchivesNeedingExtension');
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

  test('no "*" resource except for actions whose API requires it; the state machine invokes only its two functions', () => {
    for (const s of statementsOf(template, 'DownloadWindowExtension')) {
      if (resourcesOf(s).includes('*')) for (const a of actionsOf(s)) expect({ action: a, starOnly: STAR_ONLY_ACTIONS.has(a) }).toEqual({ action: a, starOnly: true });
    }
    const invoke = statementsOf(template, 'DownloadWindowExtensionStateMachineRole').filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(resourcesOf(invoke[0])).toHaveLength(4);
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
