import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { actionsOf, build, definitionOf, resourcesOf, STAR_ONLY_ACTIONS, statementsOf, VAULT_ARNS } from './request-stages';
import { placeholdersOf } from '../../src/asl/definitions';

describe('InitiateRetrieval construct', () => {
  const { template, initiate } = build();

  test('the definition has no unresolved placeholder: every ${Name} has a substitution', () => {
    const { text, substitutions } = definitionOf(template, 'InitiateRetrievalStateMachine');
    const names = placeholdersOf(text);
    expect(new Set(names)).toEqual(new Set(['Partition', 'InventoryBucket', 'NotificationTopicArn', 'InitiateArchiveRetrievalFunctionArn']));
    for (const name of names) expect(substitutions[name]).toBeDefined();
    expect(text).not.toMatch(/\$\{Token\[/);
    const def = JSON.parse(text);
    expect(def.StartAt).toBe('PrepareRun');
  });

  test('Retry/Catch error names are the reserved ones (never States.All)', () => {
    const { text } = definitionOf(template, 'InitiateRetrievalStateMachine');
    expect(text).not.toMatch(/States\.All\b/);
    expect(text).toMatch(/"States\.TaskFailed"/);
    expect(text).toMatch(/"Lambda\.TooManyRequestsException"/);
    expect(text).toMatch(/"States\.ExceedToleratedFailureThreshold"/);
  });

  test('logs ALL events without execution data and traces with X-Ray', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: Match.stringLikeRegexp('InitiateRetrieval'),
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [Match.anyValue()] },
      TracingConfiguration: { Enabled: true },
    });
  });

  test('glacier:InitiateJob only on the given vault ARNs, only for the batch function', () => {
    const all = [...statementsOf(template, 'InitiateRetrieval'), ...statementsOf(template, 'DownloadWindowExtension')];
    const glacier = all.filter((s) => actionsOf(s).some((a) => a.startsWith('glacier:')));
    const initiateJob = glacier.filter((s) => actionsOf(s).includes('glacier:InitiateJob'));
    expect(initiateJob.length).toBe(2); // InitiateArchiveRetrieval and ExtendDownloadWindow
    // The only other Glacier statement: RecoverLostNotifications asks about overdue jobs.
    expect(glacier.filter((s) => !initiateJob.includes(s)).map(actionsOf)).toEqual([['glacier:DescribeJob']]);
    for (const s of glacier) {
      expect(actionsOf(s)).toHaveLength(1);
      expect(resourcesOf(s)).toEqual(VAULT_ARNS);
    }
    const fnStatements = statementsOf(template, 'InitiateRetrievalInitiateArchiveRetrievalServiceRole');
    expect(fnStatements.some((s) => actionsOf(s).includes('glacier:InitiateJob'))).toBe(true);
  });

  test('no "*" resource except for actions whose API requires it', () => {
    for (const s of statementsOf(template, 'InitiateRetrieval')) {
      if (resourcesOf(s).includes('*')) for (const a of actionsOf(s)) expect({ action: a, starOnly: STAR_ONLY_ACTIONS.has(a) }).toEqual({ action: a, starOnly: true });
    }
  });

  test('the state machine role can run its own Distributed Map children and invoke only the batch function', () => {
    const statements = statementsOf(template, 'InitiateRetrievalStateMachineRole');
    const start = statements.find((s) => actionsOf(s).includes('states:StartExecution'))!;
    expect(JSON.stringify(resourcesOf(start))).toMatch(/:stateMachine:Consumer-InitiateRetrieval/);
    const control = statements.find((s) => actionsOf(s).includes('states:DescribeExecution'))!;
    expect(actionsOf(control).sort()).toEqual(['states:DescribeExecution', 'states:StopExecution']);
    expect(JSON.stringify(resourcesOf(control))).toMatch(/:execution:Consumer-InitiateRetrieval[^"]*\/\*/);
    const invoke = statements.filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(JSON.stringify(invoke[0].Resource)).toContain('InitiateRetrievalInitiateArchiveRetrieval');
    expect(resourcesOf(invoke[0])).toHaveLength(2); // the function and its versions
  });

  test('S3 access of the state machine: list/read the sorted inventory, write Map Run results under tmp/', () => {
    const statements = statementsOf(template, 'InitiateRetrievalStateMachineRole');
    const list = statements.find((s) => actionsOf(s).includes('s3:ListBucket'))!;
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['*/sorted_inventory/*'] } });
    const read = statements.find((s) => actionsOf(s).includes('s3:GetObject'))!;
    expect(JSON.stringify(read.Resource)).toContain('/*/sorted_inventory/*');
    const write = statements.find((s) => actionsOf(s).includes('s3:PutObject'))!;
    expect(JSON.stringify(write.Resource)).toContain('/tmp/initiate-retrieval/*');
    expect(statements.some((s) => actionsOf(s).some((a) => a === 's3:*' || a === 's3:DeleteObject'))).toBe(false);
  });

  test('the batch function reaches the quota ledger item only, and gets the quota and pacing settings', () => {
    const ledger = statementsOf(template, 'InitiateRetrievalInitiateArchiveRetrievalServiceRole').find((s) => s.Sid === 'QuotaLedger')!;
    expect(ledger.Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['quota-ledger'] } });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Requests one batch of archives'),
      Environment: {
        Variables: Match.objectLike({
          DAILY_QUOTA_BYTES: String(100 * 1024 ** 4),
          INITIATE_REQUESTS_PER_SECOND: '100',
          INITIATE_CONCURRENCY: '20',
          TRANSFER_TABLE_NAME: Match.anyValue(),
          METRICS_TABLE_NAME: Match.anyValue(),
        }),
      },
    });
    expect(initiate.stateMachine).toBeDefined();
  });

  test('without a per-run spend cap: no cap variables and no access to run spend items', () => {
    for (const role of ['InitiateRetrievalInitiateArchiveRetrievalServiceRole', 'DownloadWindowExtensionExtendDownloadWindow']) {
      expect(statementsOf(template, role).find((s) => s.Sid === 'RunSpend')).toBeUndefined();
    }
    const fns = Object.values(template.findResources('AWS::Lambda::Function')) as any[];
    for (const fn of fns) expect(Object.keys(fn.Properties.Environment?.Variables ?? {})).not.toContain('MAX_RETRIEVAL_REQUESTS_PER_RUN');
  });

  test('per-run spend caps: both request stages get them and may touch only run-spend#* items, only their counters (issue 22)', () => {
    const capped = build({}, {}, false, { maxRetrievalRequestsPerRun: 500, maxRetrievalDollarsPerRun: 25.5 }).template;
    for (const role of ['InitiateRetrievalInitiateArchiveRetrievalServiceRole', 'DownloadWindowExtensionExtendDownloadWindow']) {
      const spend = statementsOf(capped, role).find((s) => s.Sid === 'RunSpend')!;
      expect(spend.Action).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
      expect(spend.Condition).toEqual({
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['run-spend#*'] },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'spentRequests', 'spentMicroUsd', 'updatedAt'] },
      });
    }
    const withCaps = (Object.values(capped.findResources('AWS::Lambda::Function')) as any[])
      .filter((fn) => fn.Properties.Environment?.Variables?.MAX_RETRIEVAL_REQUESTS_PER_RUN !== undefined);
    expect(withCaps).toHaveLength(2);
    for (const fn of withCaps) {
      expect(fn.Properties.Environment.Variables).toMatchObject({ MAX_RETRIEVAL_REQUESTS_PER_RUN: '500', MAX_RETRIEVAL_MICRO_USD_PER_RUN: '25500000' });
    }
    expect(() => build({}, {}, false, { maxRetrievalRequestsPerRun: 0 })).toThrow(/maxRetrievalRequestsPerRun must be a whole number of requests of at least 1, got 0/);
    expect(() => build({}, {}, false, { maxRetrievalDollarsPerRun: -5 })).toThrow(/maxRetrievalDollarsPerRun must be a number of US dollars above 0/);
  });

  test('batch size and batch concurrency are set from props', () => {
    const { template: t } = build({ archivesPerBatch: 250, batchConcurrency: 3 });
    const def = JSON.parse(definitionOf(t, 'InitiateRetrievalStateMachine').text);
    const inner = def.States.ForEachPartitionFile.ItemProcessor.States.InitiateArchivesOfFile;
    expect(inner.ItemBatcher.MaxItemsPerBatch).toBe(250);
    expect(inner.MaxConcurrency).toBe(3);
    expect(() => build({ archivesPerBatch: 0 })).toThrow(/archivesPerBatch/);
  });

  test('passes the AwsSolutions cdk-nag pack', () => {
    const { stack } = build({}, {}, true);
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${String(e.entry.data).slice(0, 160)}`)).toEqual([]);
  });
});
