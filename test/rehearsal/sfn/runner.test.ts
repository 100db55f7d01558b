import { AddressInfo } from 'net';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { runStateMachine, SfnRuntime } from '../../../rehearsal/sfn/runner';

const FN = 'arn:aws:lambda:us-east-1:111122223333:function:double';
const credentials = { accessKeyId: 'rehearsal', secretAccessKey: 'rehearsal' };

describe('Lambda integrations', () => {
  test('lambda:invoke gets Payload and returns the real response shape (ResultSelector on $.Payload)', async () => {
    const seen: unknown[] = [];
    const result = await runStateMachine({
      StartAt: 'Double',
      States: {
        Double: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: '${DoubleFn}', Payload: { 'n.$': '$.n', 'execution.$': '$$.Execution.Id' } },
          ResultSelector: { 'doubled.$': '$.Payload.value', 'status.$': '$.StatusCode', 'version.$': '$.ExecutedVersion' },
          ResultPath: '$.result',
          Next: 'Bare',
        },
        Bare: { Type: 'Task', Resource: FN, InputPath: '$.result', ResultPath: '$.bare', End: true },
      },
    }, { n: 21 }, {
      substitutions: { DoubleFn: `${FN}:$LATEST` },
      services: {
        lambdaHandlers: {
          [FN]: async (event: any, context) => {
            seen.push({ event, fn: context.functionName });
            return { value: (event.n ?? event.doubled) * 2 };
          },
        },
      },
    });
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(result.output).toEqual({ n: 21, result: { doubled: 42, status: 200, version: '$LATEST' }, bare: { value: 84 } });
    expect(seen[0]).toEqual({ event: { n: 21, execution: result.executionArn }, fn: 'double' });
    expect(result.transitions).toEqual(['Double', 'Bare']);
  });

  test('Retry on States.ALL then Catch: attempts counted, error and cause as AWS shapes them', async () => {
    let calls = 0;
    const result = await runStateMachine({
      StartAt: 'Flaky',
      States: {
        Flaky: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { 'FunctionName': FN, 'Payload.$': '$' },
          Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 30, MaxAttempts: 2, BackoffRate: 2 }],
          Catch: [{ ErrorEquals: ['ThrottledError'], ResultPath: '$.failure', Next: 'Recover' }],
          End: true,
        },
        Recover: { Type: 'Pass', End: true },
      },
    }, { job: 1 }, {
      services: {
        lambdaHandlers: {
          double: async () => {
            calls++;
            const e = new Error('slow down');
            e.name = 'ThrottledError';
            throw e;
          },
        },
      },
    });
    expect(calls).toBe(3);
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const failure = (result.output as any).failure;
    expect(failure.Error).toBe('ThrottledError');
    expect(JSON.parse(failure.Cause)).toMatchObject({ errorType: 'ThrottledError', errorMessage: 'slow down' });
    expect(result.events.filter((e) => e.type === 'StateRetried')).toHaveLength(2);
    expect(result.transitions).toEqual(['Flaky', 'Recover']);
  });

  test('an uncaught failure fails the execution with error and cause', async () => {
    const result = await runStateMachine({
      StartAt: 'Boom', States: { Boom: { Type: 'Fail', Error: 'Vault.Missing', Cause: 'no such vault' } },
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'Vault.Missing', cause: 'no such vault' });
  });

  test('a Lambda resource without a handler is refused before running', async () => {
    await expect(runStateMachine({ StartAt: 'A', States: { A: { Type: 'Task', Resource: FN, End: true } } }))
      .rejects.toThrow(/'A'.*no local service.*lambdaHandlers/);
  });
});

describe('child executions', () => {
  const child = {
    StartAt: 'Check',
    States: {
      Check: { Type: 'Choice', Choices: [{ Variable: '$.fail', BooleanEquals: true, Next: 'Nope' }], Default: 'Ok' },
      Ok: { Type: 'Pass', Parameters: { 'echo.$': '$.value' }, End: true },
      Nope: { Type: 'Fail', Error: 'Child.Failed', Cause: 'asked to' },
    },
  };
  const parent = (resource: string) => ({
    StartAt: 'Run child',
    States: {
      'Run child': {
        Type: 'Task',
        Resource: resource,
        Parameters: { StateMachineArn: '${ChildArn}', Input: { 'value.$': '$.value', 'fail.$': '$.fail', 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' } },
        Catch: [{ ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'Handled' }],
        End: true,
      },
      'Handled': { Type: 'Pass', End: true },
    },
  });

  test('startExecution.sync:2 returns Output as JSON, .sync as a string; child failure → States.TaskFailed', async () => {
    const runtime = new SfnRuntime({ stateMachines: { Child: child } });
    const substitutions = { ChildArn: runtime.stateMachineArn('Child') };

    const json = await runStateMachine(parent('arn:aws:states:::states:startExecution.sync:2'), { value: 7, fail: false }, { runtime, substitutions, stateMachineName: 'Parent2' });
    expect(json.status).toBe('SUCCEEDED');
    expect((json.output as any).Output).toEqual({ echo: 7 });
    expect((json.output as any).Status).toBe('SUCCEEDED');

    const text = await runStateMachine(parent('arn:aws:states:::states:startExecution.sync'), { value: 8, fail: false }, { runtime, substitutions, stateMachineName: 'Parent1' });
    expect((text.output as any).Output).toBe('{"echo":8}');

    const failed = await runStateMachine(parent('arn:aws:states:::states:startExecution.sync:2'), { value: 9, fail: true }, { runtime, substitutions, stateMachineName: 'Parent3' });
    const error = (failed.output as any).error;
    expect(error.Error).toBe('States.TaskFailed');
    expect(JSON.parse(error.Cause)).toMatchObject({ Status: 'FAILED', Error: 'Child.Failed', Cause: 'asked to' });

    const children = runtime.listExecutions('Child');
    expect(children).toHaveLength(3);
    expect(children[0].parentExecutionArn).toBe(json.executionArn);
    expect(children[0].input).toMatchObject({ AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: json.executionArn });
  });

  test('StopExecution aborts a running execution and its pending task', async () => {
    const runtime = new SfnRuntime({
      services: { lambdaHandlers: { slow: () => new Promise(() => undefined) } },
    });
    runtime.registerStateMachine('Slow', {
      StartAt: 'Hang', States: { Hang: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:111122223333:function:slow', End: true } },
    });
    const started = await runtime.startExecution('Slow', {});
    expect(runtime.describeExecution(started.executionArn).status).toBe('RUNNING');
    runtime.stopExecution(started.executionArn, 'Operator.Stop', 'rehearsal');
    const done = await runtime.whenDone(started.executionArn);
    expect(done).toMatchObject({ status: 'ABORTED', error: 'Operator.Stop' });
  });
});

describe('AWS service integrations', () => {
  let server: any;
  let ddb: DynamoDBClient;

  beforeAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dynalite = require('dynalite');
    server = dynalite({ createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    ddb = new DynamoDBClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials });
    await ddb.send(new CreateTableCommand({
      TableName: 'vault-state',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }));
  });

  afterAll(async () => {
    ddb?.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  test('dynamodb:putItem/getItem (optimised) and aws-sdk:dynamodb against dynalite; ConditionalCheckFailed named like AWS', async () => {
    const result = await runStateMachine({
      StartAt: 'Put',
      States: {
        'Put': {
          Type: 'Task',
          Resource: 'arn:aws:states:::dynamodb:putItem',
          Parameters: { TableName: 'vault-state', Item: { pk: { 'S.$': '$.vault' }, count: { N: '3' } }, ConditionExpression: 'attribute_not_exists(pk)' },
          ResultPath: null,
          Next: 'Get',
        },
        'Get': {
          Type: 'Task',
          Resource: 'arn:aws:states:::dynamodb:getItem',
          Parameters: { TableName: 'vault-state', Key: { pk: { 'S.$': '$.vault' } } },
          ResultSelector: { 'count.$': '$.Item.count.N' },
          ResultPath: '$.got',
          Next: 'Put again',
        },
        'Put again': {
          Type: 'Task',
          Resource: 'arn:aws:states:::dynamodb:putItem',
          Parameters: { TableName: 'vault-state', Item: { pk: { 'S.$': '$.vault' } }, ConditionExpression: 'attribute_not_exists(pk)' },
          Catch: [{ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], ResultPath: '$.dup', Next: 'Update via SDK' }],
          End: true,
        },
        'Update via SDK': {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:dynamodb:updateItem',
          Parameters: {
            TableName: 'vault-state',
            Key: { pk: { 'S.$': '$.vault' } },
            UpdateExpression: 'SET #c = :c',
            ConditionExpression: 'attribute_exists(nothere)',
            ExpressionAttributeNames: { '#c': 'count' },
            ExpressionAttributeValues: { ':c': { N: '4' } },
          },
          Catch: [{ ErrorEquals: ['DynamoDb.ConditionalCheckFailedException'], ResultPath: '$.sdkDup', Next: 'Done' }],
          End: true,
        },
        'Done': { Type: 'Succeed' },
      },
    }, { vault: 'photos' }, { services: { dynamodbClient: ddb } });
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const out = result.output as any;
    expect(out.got).toEqual({ count: '3' });
    expect(out.dup.Error).toBe('DynamoDB.ConditionalCheckFailedException');
    expect(out.sdkDup.Error).toBe('DynamoDb.ConditionalCheckFailedException');
    const item = await ddb.send(new GetItemCommand({ TableName: 'vault-state', Key: { pk: { S: 'photos' } } }));
    expect(item.Item?.count).toEqual({ N: '3' });
  });

  test('EventBridge putTargets/removeTargets and CloudWatch putMetricData land in the in-memory fakes', async () => {
    const result = await runStateMachine({
      StartAt: 'Add target',
      States: {
        'Add target': {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:eventbridge:putTargets',
          Parameters: { Rule: 'tick', Targets: [{ 'Id': 'a', 'Arn.$': '$.arn' }, { Id: 'b', Arn: 'arn:x' }] },
          ResultPath: null,
          Next: 'Remove one',
        },
        'Remove one': { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:eventbridge:removeTargets', Parameters: { Rule: 'tick', Ids: ['b'] }, ResultPath: null, Next: 'Metric' },
        'Metric': {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:cloudwatch:putMetricData',
          Parameters: { Namespace: 'GlacierToS3', MetricData: [{ MetricName: 'ArchivesCopied', Value: 5, Unit: 'Count' }] },
          End: true,
        },
      },
    }, { arn: 'arn:aws:lambda:us-east-1:111122223333:function:tick' });
    expect([result.status, result.error, result.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(result.runtime.eventBridge.targetsOf('tick')).toEqual([{ Id: 'a', Arn: 'arn:aws:lambda:us-east-1:111122223333:function:tick' }]);
    expect(result.runtime.cloudWatch.datapoints('ArchivesCopied')).toEqual([{ namespace: 'GlacierToS3', value: 5, dimensions: undefined }]);
  });
});
