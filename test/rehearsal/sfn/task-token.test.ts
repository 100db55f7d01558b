import {
  DescribeExecutionCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand, TaskDoesNotExist, TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { Clock } from '../../../rehearsal/clock';
import { SfnApi, startSfnApi } from '../../../rehearsal/sfn/api';
import { SfnRuntime } from '../../../rehearsal/sfn/runner';


const waitForCallback = (extra: Record<string, unknown> = {}) => ({
  StartAt: 'Request restore',
  States: {
    'Request restore': {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: 'restore', Payload: { 'archive.$': '$.archive', 'token.$': '$$.Task.Token' } },
      ResultPath: '$.restored',
      Catch: [
        { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'Task failed' },
        { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Timed out' },
      ],
      Next: 'Done',
      ...extra,
    },
    'Done': { Type: 'Succeed' },
    'Task failed': { Type: 'Pass', End: true },
    'Timed out': { Type: 'Pass', End: true },
  },
});

let api: SfnApi;
let runtime: SfnRuntime;
let clock: Clock;
const saved = { ...process.env };

beforeAll(async () => {
  clock = new Clock(1);
  runtime = new SfnRuntime({
    clock,
    services: {
      lambdaHandlers: {
        // A "worker" that answers later through the UNMODIFIED SDK client (endpoint from AWS_ENDPOINT_URL_SFN).
        // A handler that works for `ms` of wall time (an in-process Lambda runs at wall speed).
        slow: async (event: { ms: number }) => {
          await new Promise((resolve) => setTimeout(resolve, event.ms));
          return { worked: event.ms };
        },
        restore: async (event: { archive: string; token: string }) => {
          if (event.archive === 'never-answers') return { accepted: true };
          setTimeout(() => {
            const output = JSON.stringify({ archive: event.archive, bytes: 42 });
            void new SFNClient({}).send(new SendTaskSuccessCommand({ taskToken: event.token, output }));
          }, 20);
          return { accepted: true };
        },
      },
    },
  });
  api = await startSfnApi(runtime);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SFN: api.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'rehearsal', AWS_SECRET_ACCESS_KEY: 'rehearsal',
  });
  runtime.registerStateMachine('Restore', waitForCallback({ TimeoutSeconds: 3600 }));
  runtime.registerStateMachine('Slow', {
    StartAt: 'Work',
    States: {
      'Work': {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { 'FunctionName': 'slow', 'Payload.$': '$' },
        TimeoutSeconds: 60,
        Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Timed out' }],
        End: true,
      },
      'Timed out': { Type: 'Pass', End: true },
    },
  });
  runtime.registerStateMachine('RestoreWithHeartbeat', waitForCallback({ TimeoutSeconds: 3600, HeartbeatSeconds: 60 }));
});

afterAll(async () => {
  runtime.close();
  clock.stop();
  await api.stop();
  process.env = saved;
});

test('waitForTaskToken: the handler gets a real token and SendTaskSuccess (real SFNClient → HTTP fake) resumes the execution', async () => {
  const done = await runtime.run('Restore', { archive: 'a-1' });
  expect([done.status, done.error]).toEqual(['SUCCEEDED', undefined]);
  expect(done.output).toEqual({ archive: 'a-1', restored: { archive: 'a-1', bytes: 42 } });
  const [token] = runtime.tokens.history().filter((t) => t.executionArn === done.executionArn);
  expect(token).toMatchObject({ stateName: 'Request restore', status: 'SUCCEEDED' });
  expect(token.token).not.toContain('__REHEARSAL');
  expect(api.calls.map((c) => c.operation)).toContain('SendTaskSuccess');

  // A finished token is TaskTimedOut, an unknown one TaskDoesNotExist — both as SDK exception classes.
  const sfn = new SFNClient({});
  await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token.token, output: '{}' }))).rejects.toBeInstanceOf(TaskTimedOut);
  await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: 'nope', output: '{}' }))).rejects.toBeInstanceOf(TaskDoesNotExist);
  sfn.destroy();
});

test('TimeoutSeconds runs on the virtual clock: States.Timeout is caught by its catcher, not by States.TaskFailed', async () => {
  const started = await runtime.startExecution('Restore', { archive: 'never-answers' });
  const token = await runtime.tokens.waitForToken((t) => t.executionArn === started.executionArn);
  clock.advance(3599 * 1000);
  expect(runtime.describeExecution(started.executionArn).status).toBe('RUNNING');
  clock.advance(2000);
  const done = await runtime.whenDone(started.executionArn);
  expect(done.status).toBe('SUCCEEDED');
  expect((done.output as any).error.Error).toBe('States.Timeout');
  expect(runtime.transitions(done.executionArn)).toEqual(['Request restore', 'Timed out']);
  expect(runtime.tokens.get(token.token)?.status).toBe('TIMED_OUT');
});

test('a Lambda task without a token times out on wall time: the virtual clock running past TimeoutSeconds while the handler works does not time it out', async () => {
  const started = await runtime.startExecution('Slow', { ms: 400 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  clock.advance(120 * 1000); // the rehearsal clock runs ahead while the handler still works
  const done = await runtime.whenDone(started.executionArn);
  expect(done.status).toBe('SUCCEEDED');
  expect(runtime.transitions(done.executionArn)).toEqual(['Work']);
  expect((done.output as any).Payload).toEqual({ worked: 400 });
});

test('HeartbeatSeconds: heartbeats keep the task alive; a missed one is States.HeartbeatTimeout, caught by a States.Timeout catcher', async () => {
  const sfn = new SFNClient({});
  const out = await sfn.send(new StartExecutionCommand({ stateMachineArn: runtime.stateMachineArn('RestoreWithHeartbeat'), input: JSON.stringify({ archive: 'never-answers' }) }));
  const token = await runtime.tokens.waitForToken((t) => t.executionArn === out.executionArn);
  for (let i = 0; i < 3; i++) {
    clock.advance(50 * 1000);
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token.token }));
  }
  const running = await sfn.send(new DescribeExecutionCommand({ executionArn: out.executionArn }));
  expect(running.status).toBe('RUNNING');
  clock.advance(61 * 1000);
  const done = await runtime.whenDone(out.executionArn!);
  expect((done.output as any).error.Error).toBe('States.HeartbeatTimeout');
  expect(runtime.tokens.get(token.token)?.heartbeats).toBe(3);
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: out.executionArn }));
  expect(described.status).toBe('SUCCEEDED');
  expect(JSON.parse(described.output!).error.Error).toBe('States.HeartbeatTimeout');
  sfn.destroy();
});

test('SendTaskFailure through the runtime fails the task with the given error (caught by States.TaskFailed? no: by name)', async () => {
  const started = await runtime.startExecution('Restore', { archive: 'never-answers' });
  const token = await runtime.tokens.waitForToken((t) => t.executionArn === started.executionArn);
  runtime.sendTaskFailure(token.token, 'Glacier.JobFailed', 'job failed');
  const done = await runtime.whenDone(started.executionArn);
  expect((done.output as any).error).toEqual({ Error: 'Glacier.JobFailed', Cause: 'job failed' });
  expect(runtime.transitions(done.executionArn)).toEqual(['Request restore', 'Task failed']);
});
