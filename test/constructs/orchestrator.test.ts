import { Template } from 'aws-cdk-lib/assertions';
import { makeStack } from './helpers';
import { actionsOf, definitionOf, resourcesOf, STAR_ONLY_ACTIONS, statementsOf } from './request-stages';
import { placeholdersOf } from '../../src/asl/definitions';
import { RUN_EVENT_SOURCE } from '../../src/constructs/orchestrator';

/** Logical id of a resource of the template that `ref` ({ Ref } / { Fn::GetAtt }) points at. */
const refId = (ref: any): string | undefined => ref?.Ref ?? ref?.['Fn::GetAtt']?.[0];

describe('Orchestrator (through GlacierVaultToS3Transfer)', () => {
  const { stack, transfer } = makeStack({ allowedVaultNames: ['photos'] });
  const template = Template.fromStack(stack);
  const idOf = (construct: any) => stack.getLogicalId(construct.node.defaultChild);
  const orchestratorId = idOf(transfer.orchestrator.stateMachine);
  const inventoryId = idOf(transfer.inventoryRetrieval.stateMachine);
  const initiateId = idOf(transfer.initiateRetrieval.stateMachine);
  const completionRuleId = idOf(transfer.orchestrator.completionSchedule);
  const dashboardRuleId = idOf(transfer.orchestrator.dashboardSchedule);
  const windowRuleId = idOf(transfer.downloadWindowExtension.schedule);
  const roleId = idOf(transfer.orchestrator.stateMachine.role);

  test('the definition has no unresolved placeholder; every substitution is used', () => {
    const { text, substitutions } = definitionOf(template, orchestratorId);
    const names = new Set(placeholdersOf(text));
    expect(names.size).toBeGreaterThan(0);
    for (const name of names) expect({ name, defined: substitutions[name] !== undefined }).toEqual({ name, defined: true });
    expect(new Set(Object.keys(substitutions))).toEqual(names);
    expect(substitutions.EventSource).toBe(RUN_EVENT_SOURCE);
    expect(() => JSON.parse(text)).not.toThrow();
    expect(JSON.parse(text).StartAt).toBe('RecordRun');
  });

  test('starts InventoryRetrieval and InitiateRetrieval by ARN with startExecution.sync:2', () => {
    const { text, substitutions } = definitionOf(template, orchestratorId);
    const states = Object.values<any>(JSON.parse(text).States);
    const starts = states.filter((s) => typeof s.Resource === 'string' && s.Resource.startsWith('arn:${Partition}:states:::states:startExecution'));
    expect(starts.map((s) => s.Resource)).toEqual(['arn:${Partition}:states:::states:startExecution.sync:2', 'arn:${Partition}:states:::states:startExecution.sync:2']);
    expect(substitutions.Partition).toEqual({ Ref: 'AWS::Partition' });
    expect(starts.map((s) => s.Parameters.StateMachineArn).sort())
      .toEqual(['${InitiateRetrievalStateMachineArn}', '${InventoryRetrievalStateMachineArn}']);
    expect(refId(substitutions.InventoryRetrievalStateMachineArn)).toBe(inventoryId);
    expect(refId(substitutions.InitiateRetrievalStateMachineArn)).toBe(initiateId);
    expect(refId(substitutions.CompletionRuleName)).toBe(completionRuleId);
    expect(refId(substitutions.DashboardRuleName)).toBe(dashboardRuleId);
    expect(refId(substitutions.DownloadWindowRuleName)).toBe(windowRuleId);
  });

  test('logging ALL without execution data, X-Ray tracing, standard type', () => {
    const { resource } = definitionOf(template, orchestratorId);
    expect(resource.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    expect(resource.Properties.LoggingConfiguration.Destinations).toHaveLength(1);
    expect(resource.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(resource.Properties.StateMachineType).toBe('STANDARD');
  });

  const roleStatements = () => statementsOf(template, roleId);

  test('states:StartExecution only on the two child state machines', () => {
    const granted = roleStatements().filter((s) => actionsOf(s).includes('states:StartExecution'));
    expect(granted).toHaveLength(1);
    expect(actionsOf(granted[0])).toEqual(['states:StartExecution']);
    expect(resourcesOf(granted[0]).map(refId).sort()).toEqual([initiateId, inventoryId].sort());
  });

  test('events:PutTargets / RemoveTargets only on the three schedule rules (and the .sync managed rule)', () => {
    const rules = new Set([completionRuleId, dashboardRuleId, windowRuleId]);
    const seen = new Set<string>();
    for (const s of roleStatements()) {
      const actions = actionsOf(s).filter((a) => a === 'events:PutTargets' || a === 'events:RemoveTargets');
      if (actions.length === 0) continue;
      for (const r of resourcesOf(s)) {
        const id = refId(r) ?? (r as any)?.['Fn::GetAtt']?.[0];
        if (id) {
          expect(rules.has(id)).toBe(true);
          for (const a of actions) seen.add(`${a} ${id}`);
        } else {
          // The only other rule: the one Step Functions manages for `.sync` (PutTargets only).
          expect(JSON.stringify(r)).toContain('rule/StepFunctionsGetEventsForStepFunctionsExecutionRule');
          expect(actions).toEqual(['events:PutTargets']);
        }
      }
    }
    const expected = [...rules].flatMap((id) => [`events:PutTargets ${id}`, `events:RemoveTargets ${id}`]);
    expect([...seen].sort()).toEqual(expected.sort());
  });

  test('events:PutEvents only on the default bus for the run event source', () => {
    const put = roleStatements().filter((s) => actionsOf(s).includes('events:PutEvents'));
    expect(put).toHaveLength(1);
    expect(JSON.stringify(put[0].Resource)).toContain(':event-bus/default');
    expect(put[0].Condition).toEqual({ StringEquals: { 'events:source': RUN_EVENT_SOURCE } });
  });

  test('cloudwatch:PutMetricData is held to the metrics namespace by a condition', () => {
    const all = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const put = all.filter((s) => actionsOf(s).includes('cloudwatch:PutMetricData'));
    expect(put.length).toBeGreaterThan(0);
    for (const s of put) {
      expect(s.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': transfer.orchestrator.metricsNamespace } });
    }
    // Per deployment by default (dashboard.test.ts checks two deployments apart).
    expect(transfer.orchestrator.metricsNamespace).toMatch(/^GlacierVaultToS3\/Consumer\/[A-Za-z0-9]+$/);
  });

  test('no orchestration statement grants "*" except for actions that only accept it or are held by a condition', () => {
    const prefix = orchestratorId.replace(/StateMachine[0-9A-F]{8}$/, '');
    expect(prefix).toBe('TransferOrchestrator');
    const statements = statementsOf(template, prefix);
    expect(statements.length).toBeGreaterThan(20);
    for (const s of statements) {
      if (!resourcesOf(s).includes('*')) continue;
      for (const a of actionsOf(s)) {
        const allowed = STAR_ONLY_ACTIONS.has(a) || (a === 'cloudwatch:PutMetricData' && s.Condition !== undefined);
        expect({ action: a, allowed }).toEqual({ action: a, allowed: true });
      }
    }
  });

  test('schedules: completion check 15 min, dashboard refresh 5 min, window extension 30 min; no standing targets', () => {
    const rules = template.findResources('AWS::Events::Rule');
    const schedule = (id: string) => rules[id].Properties.ScheduleExpression;
    expect(schedule(completionRuleId)).toBe('rate(15 minutes)');
    expect(schedule(dashboardRuleId)).toBe('rate(5 minutes)');
    expect(schedule(windowRuleId)).toBe('rate(30 minutes)');
    for (const id of [completionRuleId, dashboardRuleId, windowRuleId]) {
      expect(rules[id].Properties.State).toBe('ENABLED');
      expect(rules[id].Properties.Targets).toBeUndefined();
    }
  });

  test('the completion and dashboard schedules may invoke their functions once a target is added', () => {
    const permissions = Object.values<any>(template.findResources('AWS::Lambda::Permission'))
      .filter((p) => p.Properties.Principal === 'events.amazonaws.com');
    const pairs = permissions.map((p) => `${refId(p.Properties.FunctionName)} <- ${refId(p.Properties.SourceArn)}`);
    expect(pairs).toEqual(expect.arrayContaining([
      `${idOf(transfer.orchestrator.completionChecker)} <- ${completionRuleId}`,
      `${idOf(transfer.orchestrator.dashboardUpdate)} <- ${dashboardRuleId}`,
    ]));
  });

  describe('executions that end without their cleanup (console stop, failure, time-out)', () => {
    const endedId = idOf(transfer.orchestrator.executionEnded);
    const ruleId = idOf(transfer.orchestrator.executionEndedRule);
    const endedStatements = () => statementsOf(template, idOf(transfer.orchestrator.executionEnded.role).slice(0, -8));

    test('a rule on the orchestrator\'s own status changes (ABORTED, FAILED, TIMED_OUT) targets the handler', () => {
      const rule = template.findResources('AWS::Events::Rule')[ruleId];
      expect(rule.Properties.EventPattern).toEqual({
        'source': ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        'detail': { stateMachineArn: [{ Ref: orchestratorId }], status: ['ABORTED', 'FAILED', 'TIMED_OUT'] },
      });
      expect(rule.Properties.Targets).toHaveLength(1);
      expect(refId(rule.Properties.Targets[0].Arn)).toBe(endedId);
      expect(rule.Properties.Targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 });
      const permissions = Object.values<any>(template.findResources('AWS::Lambda::Permission'))
        .filter((p) => refId(p.Properties.FunctionName) === endedId);
      expect(permissions.map((p) => [p.Properties.Principal, refId(p.Properties.SourceArn)])).toEqual([['events.amazonaws.com', ruleId]]);
    });

    test('the handler knows the three schedule rules and the run event source', () => {
      const env = template.findResources('AWS::Lambda::Function')[endedId].Properties.Environment.Variables;
      const rules = JSON.stringify(env.SCHEDULE_RULE_NAMES);
      for (const id of [windowRuleId, completionRuleId, dashboardRuleId]) expect(rules).toContain(`"${id}"`);
      expect(env.RUN_EVENT_SOURCE).toBe(RUN_EVENT_SOURCE);
    });

    test('least privilege: run/lock items, the completion wait, the three rules, orchestrator and InitiateRetrieval executions', () => {
      const statements = endedStatements();
      const byAction = (a: string) => statements.filter((s) => actionsOf(s).includes(a));
      for (const s of statements) expect(resourcesOf(s)).not.toContain('*');
      const remove = byAction('events:RemoveTargets');
      expect(remove).toHaveLength(1);
      expect(resourcesOf(remove[0]).map((r: any) => r['Fn::GetAtt']?.[0]).sort()).toEqual([windowRuleId, completionRuleId, dashboardRuleId].sort());
      const [update] = byAction('dynamodb:UpdateItem');
      expect(update.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['run#*', 'active-vault#*'] } });
      const waits = byAction('dynamodb:DeleteItem').filter((s) => s !== update);
      expect(waits.map((s) => s.Condition)).toEqual([{ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['completion#*'] } }]);
      expect(JSON.stringify(byAction('states:DescribeExecution').map(resourcesOf))).toMatch(/:execution:Consumer-Transfer-Orchestrator-[0-9A-F]{8}:\*"/);
      const stop = byAction('states:StopExecution');
      expect(stop).toHaveLength(1);
      expect(JSON.stringify(resourcesOf(stop[0]))).toContain(initiateId);
      expect(byAction('events:PutEvents').map((s) => s.Condition)).toEqual([{ StringEquals: { 'events:source': RUN_EVENT_SOURCE } }]);
      const granted = new Set(statements.flatMap(actionsOf).filter((a) => !a.startsWith('kms:') && !a.startsWith('xray:')));
      expect([...granted].sort()).toEqual([
        'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'events:PutEvents', 'events:RemoveTargets',
        'states:DescribeExecution', 'states:StopExecution',
      ]);
    });

    test('the state machine does not invoke it', () => {
      const invoke = roleStatements().filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
      expect(JSON.stringify(invoke)).not.toContain(endedId);
    });
  });

  test('the state machine invokes only the six orchestration functions', () => {
    const invoke = roleStatements().filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    const targets = new Set(resourcesOf(invoke[0]).map((r) => JSON.stringify(r).match(/"(TransferOrchestrator[A-Za-z0-9]+)"/)?.[1]));
    expect(targets).toEqual(new Set(transfer.orchestrator.functions.map(idOf)));
    expect(transfer.orchestrator.functions).toHaveLength(6);
  });
});
