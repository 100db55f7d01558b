import {
  CLOCK_WAIT_RESOURCE, DISTRIBUTED_MAP_RESOURCE, INTERPRETER_TASK_TIMEOUT_SECONDS, lowerDefinition, LoweringError, substitutePlaceholders,
} from '../../../rehearsal/sfn/lower';

const LAMBDA = 'arn:aws:lambda:us-east-1:111122223333:function:work';

const task = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { 'FunctionName': LAMBDA, 'Payload.$': '$' }, End: true, ...extra,
});

function expectRefused(asl: object, stateName: string | undefined, feature: RegExp): void {
  let error: unknown;
  try {
    lowerDefinition(asl);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(LoweringError);
  expect((error as LoweringError).stateName).toBe(stateName);
  expect((error as LoweringError).feature).toMatch(feature);
  if (stateName) expect((error as Error).message).toContain(`'${stateName}'`);
}

describe('placeholders', () => {
  test('substitutes ${Name} everywhere, JSON-escaped', () => {
    const out = substitutePlaceholders('{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${Fn}","End":true}},"Comment":"${Note}"}',
      { Fn: LAMBDA, Note: 'say "hi"' });
    expect(out.States.A.Resource).toBe(LAMBDA);
    expect(out.Comment).toBe('say "hi"');
  });

  test('an unresolved placeholder is refused, naming it', () => {
    expect(() => lowerDefinition({ StartAt: 'A', States: { A: task({ Parameters: { FunctionName: '${MissingFn}' } }) } }, { Other: 'x' }))
      .toThrow(/unresolved placeholder.*\$\{MissingFn\}/);
  });
});

describe('refusals (things the interpreter would silently ignore)', () => {
  test('QueryLanguage JSONata at the top level', () => {
    expectRefused({ QueryLanguage: 'JSONata', StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }, undefined, /JSONata/);
  });

  test('QueryLanguage JSONata on a nested state inside a Parallel branch', () => {
    expectRefused({
      StartAt: 'P',
      States: { P: { Type: 'Parallel', End: true, Branches: [{ StartAt: 'Inner', States: { Inner: { Type: 'Pass', QueryLanguage: 'JSONata', End: true } } }] } },
    }, 'Inner', /JSONata/);
  });

  test('Assign names the state', () => {
    expectRefused({ StartAt: 'Remember', States: { Remember: { Type: 'Pass', Assign: { x: 1 }, End: true } } }, 'Remember', /Assign/);
  });

  test('Output and Arguments', () => {
    expectRefused({ StartAt: 'O', States: { O: { Type: 'Pass', Output: { y: 1 }, End: true } } }, 'O', /Output/);
    expectRefused({ StartAt: 'Call', States: { Call: task({ Arguments: { a: 1 } }) } }, 'Call', /Arguments/);
  });

  test('JSONata Condition in a Choice rule', () => {
    expectRefused({
      StartAt: 'C', States: { C: { Type: 'Choice', Choices: [{ Condition: '{% true %}', Next: 'D' }], Default: 'D' }, D: { Type: 'Succeed' } },
    }, 'C', /Condition/);
  });

  test('unknown Resource integration', () => {
    expectRefused({ StartAt: 'Batch', States: { Batch: task({ Resource: 'arn:aws:states:::batch:submitJob.sync' }) } }, 'Batch', /unknown Resource/);
  });

  test('duplicate state names across a Map processor', () => {
    expectRefused({
      StartAt: 'Work',
      States: {
        Work: { Type: 'Pass', Next: 'Fan' },
        Fan: { Type: 'Map', End: true, ItemProcessor: { StartAt: 'Work', States: { Work: { Type: 'Pass', End: true } } } },
      },
    }, 'Work', /duplicate state name/);
  });

  test('distributed-only fields on an inline Map', () => {
    expectRefused({
      StartAt: 'Fan',
      States: { Fan: { Type: 'Map', ItemBatcher: { MaxItemsPerBatch: 2 }, End: true, ItemProcessor: { StartAt: 'W', States: { W: { Type: 'Pass', End: true } } } } },
    }, 'Fan', /ItemBatcher/);
  });

  test('unknown fields, TimeoutSecondsPath, ResultWriter WriterConfig, MANIFEST readers', () => {
    expectRefused({ StartAt: 'A', States: { A: task({ TimeoutSecondsPath: '$.t' }) } }, 'A', /TimeoutSecondsPath/);
    expectRefused({ StartAt: 'A', States: { A: task({ Credentials: { RoleArn: 'x' } }) } }, 'A', /Credentials/);
    const dmap = (extra: Record<string, unknown>) => ({
      StartAt: 'Fan',
      States: { Fan: { Type: 'Map', End: true, ...extra, ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'W', States: { W: { Type: 'Pass', End: true } } } } },
    });
    expectRefused(dmap({ ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'b' }, WriterConfig: { OutputType: 'JSON' } } }), 'Fan', /WriterConfig/);
    expectRefused(dmap({ ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'MANIFEST' }, Parameters: { Bucket: 'b', Key: 'k' } } }), 'Fan', /MANIFEST/);
  });

  test('ToleratedFailure / ResultWriter when the runner says it does not implement them', () => {
    const asl = {
      StartAt: 'Fan',
      States: { Fan: { Type: 'Map', End: true, ToleratedFailureCount: 1, ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' }, StartAt: 'W', States: { W: { Type: 'Pass', End: true } } } } },
    };
    expect(() => lowerDefinition(asl, {}, { supportsToleratedFailure: false })).toThrow(/Fan.*ToleratedFailure/);
    expect(() => lowerDefinition(asl)).not.toThrow();
  });
});

describe('lowering', () => {
  test('tasks get the huge interpreter timeout; real TimeoutSeconds/HeartbeatSeconds are kept aside', () => {
    const lowered = lowerDefinition({
      StartAt: 'Wait for callback',
      States: {
        'Wait for callback': task({
          Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
          TimeoutSeconds: 600,
          HeartbeatSeconds: 60,
          Parameters: { QueueUrl: 'q', MessageBody: { 'token.$': '$$.Task.Token' } },
          Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'Done' }],
          End: undefined,
          Next: 'Done',
        }),
        'Done': { Type: 'Succeed' },
      },
    });
    const state = lowered.definition.States['Wait for callback'];
    expect(state.TimeoutSeconds).toBe(INTERPRETER_TASK_TIMEOUT_SECONDS);
    expect(state.HeartbeatSeconds).toBeUndefined();
    expect(state.Catch[0].ErrorEquals).toEqual(['States.Timeout', 'States.HeartbeatTimeout']);
    expect(lowered.tasks['Wait for callback']).toMatchObject({
      timeoutSeconds: 600, heartbeatSeconds: 60, integration: { kind: 'sqs-send', waitForTaskToken: true },
    });
  });

  test('a DISTRIBUTED Map becomes a Task whose Parameters carry every dynamic field', () => {
    const lowered = lowerDefinition({
      StartAt: 'Copy archives',
      States: {
        'Copy archives': {
          Type: 'Map',
          Label: 'copy',
          ItemReader: {
            Resource: 'arn:aws:states:::s3:getObject',
            ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW', MaxItemsPath: '$.limit' },
            Parameters: { 'Bucket.$': '$.bucket', 'Key': 'inventory.csv' },
          },
          ItemSelector: { 'id.$': '$$.Map.Item.Value.ArchiveId', 'vault.$': '$.vault' },
          ItemBatcher: { MaxItemsPerBatch: 10, BatchInput: { 'vault.$': '$.vault' } },
          MaxConcurrency: 5,
          ToleratedFailurePercentage: 5,
          ResultPath: '$.copy',
          Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 2 }],
          ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'Copy batch', States: { 'Copy batch': task() } },
          End: true,
        },
      },
    });
    const state = lowered.definition.States['Copy archives'];
    expect(state).toMatchObject({
      Type: 'Task',
      Resource: DISTRIBUTED_MAP_RESOURCE,
      ResultPath: '$.copy',
      End: true,
      Parameters: {
        'Input.$': '$',
        'ReaderParameters': { 'Bucket.$': '$.bucket', 'Key': 'inventory.csv' },
        'MaxItems.$': '$.limit',
        'MaxItemsPerBatch': 10,
        'BatchInput': { 'vault.$': '$.vault' },
        'MaxConcurrency': 5,
        'ToleratedFailurePercentage': 5,
      },
    });
    expect(state.ItemReader).toBeUndefined();
    expect(lowered.maps['Copy archives']).toMatchObject({
      batching: true, resultWriter: false, label: 'copy', itemReader: { kind: 'getObject', inputType: 'CSV', csvHeaderLocation: 'FIRST_ROW' },
    });
    expect(lowered.tasks['Copy batch'].path).toBe('States.Copy archives.ItemProcessor.States.Copy batch');
    expect(lowered.retries['Copy archives']).toEqual([1]);
  });

  test('Wait states: kept with static seconds, or lowered to clock tasks', () => {
    const asl = { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 3600, End: true } } };
    expect(lowerDefinition(asl).waits).toEqual({ Pause: { seconds: 3600 } });
    const lowered = lowerDefinition(asl, {}, { lowerWaits: true });
    expect(lowered.definition.States.Pause).toMatchObject({ Type: 'Task', Resource: CLOCK_WAIT_RESOURCE, Parameters: { Seconds: 3600 } });
  });
});
