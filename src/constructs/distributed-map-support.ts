import { ArnFormat, Duration, Names, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { suppressNag } from './nag';
import type { TransferStorage } from './transfer-storage';
import { AslObject, checkSubstitutions, PARTITION_PLACEHOLDER } from '../asl/definitions';
import { Env, QUOTA_LEDGER_PK } from '../handlers/shared/schema';

/*
 * Plumbing shared by the state machines built from src/asl/*.asl.json (internal, not exported).
 */


/** Deep copy of an ASL definition with one field of the named state set (e.g. a Map's MaxConcurrency). */
export function withStateField(definition: AslObject, stateName: string, path: readonly string[], value: unknown): AslObject {
  const copy = JSON.parse(JSON.stringify(definition)) as AslObject;
  let found = false;
  const visit = (states: AslObject | undefined): void => {
    for (const [name, state] of Object.entries(states ?? {})) {
      if (name === stateName) {
        let target = state as AslObject;
        for (const key of path.slice(0, -1)) target = (target[key] ??= {});
        target[path[path.length - 1]] = value;
        found = true;
      }
      visit((state as AslObject).ItemProcessor?.States ?? (state as AslObject).Iterator?.States);
      for (const branch of (state as AslObject).Branches ?? []) visit(branch.States);
    }
  };
  visit(copy.States);
  if (!found) throw new Error(`state ${stateName} not found in the definition`);
  return copy;
}

export interface DistributedMapMachineProps {
  readonly definition: AslObject;
  readonly substitutions: Record<string, string>;
  readonly functions: lambda.IFunction[];
  readonly logRetention: logs.RetentionDays;
  readonly timeout?: Duration;
  readonly description: string;
}

/**
 * A STANDARD state machine with an explicit name (so its own ARN can be granted to its role for the
 * Distributed Map child executions without a dependency cycle), logging ALL events without
 * execution data to a vended log group, X-Ray tracing, and permission to invoke only `functions`.
 */
export function distributedMapMachine(
  scope: Construct,
  props: DistributedMapMachineProps,
): { stateMachine: sfn.StateMachine; role: iam.Role; logGroup: logs.LogGroup } {
  const stack = Stack.of(scope);
  const name = Names.uniqueResourceName(scope, { maxLength: 80, separator: '-' });
  const logGroup = new logs.LogGroup(scope, 'StateMachineLogs', {
    logGroupName: `/aws/vendedlogs/states/${name}`,
    retention: props.logRetention,
  });
  const role = new iam.Role(scope, 'StateMachineRole', {
    assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
    description: props.description,
  });
  // Distributed Map runs its item processor as child executions of this very state machine.
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'DistributedMapChildExecutions',
    actions: ['states:StartExecution'],
    resources: [stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'DistributedMapChildExecutionControl',
    actions: ['states:DescribeExecution', 'states:StopExecution'],
    resources: [stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${name}/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'InvokeBatchFunctions',
    actions: ['lambda:InvokeFunction'],
    resources: props.functions.flatMap((fn) => [fn.functionArn, `${fn.functionArn}:*`]),
  }));
  // Resources are written `arn:${Partition}:states:::…`; the partition is the stack's.
  const substitutions = { [PARTITION_PLACEHOLDER]: stack.partition, ...props.substitutions };
  checkSubstitutions(props.definition, substitutions, scope.node.path);
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: name,
    stateMachineType: sfn.StateMachineType.STANDARD,
    // A string definition is not rewritten by CDK, so the execution timeout goes into the ASL itself.
    definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(
      props.timeout ? { ...props.definition, TimeoutSeconds: props.timeout.toSeconds() } : props.definition,
    )),
    definitionSubstitutions: substitutions,
    role,
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
  });
  suppressNag(role, [
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Wildcards are limited to: child executions of this state machine (names are generated), versions/aliases of the batch functions, inventory-bucket key patterns of run data, '
        + 'and the log-delivery and X-Ray actions whose APIs do not support resource-level permissions.',
    },
  ], true);
  return { stateMachine, role, logGroup };
}

/** Lets `fn` read and rewrite only the quota ledger item of the metrics table. */
export function grantQuotaLedger(storage: TransferStorage, fn: lambda.IFunction): void {
  fn.addToRolePolicy(new iam.PolicyStatement({
    sid: 'QuotaLedger',
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
    resources: [storage.metricsTable.tableArn],
    conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [QUOTA_LEDGER_PK] } },
  }));
  storage.encryptionKey?.grantEncryptDecrypt(fn);
}

/** Common settings of the request-stage functions. */
export function requestFunctionOptions(
  scope: Construct,
  name: string,
  timeout: Duration,
  memorySize: number,
  logRetention: logs.RetentionDays,
  environment: Record<string, string>,
) {
  return {
    timeout,
    memorySize,
    environment: { ...environment, POWERTOOLS_SERVICE_NAME: 'glacier-vault-to-s3' },
    architecture: lambda.Architecture.ARM_64,
    logGroup: new logs.LogGroup(scope, `${name}Logs`, { retention: logRetention }),
    loggingFormat: lambda.LoggingFormat.JSON,
  };
}

/** The quota environment of the functions that request archives. */
export function quotaEnvironment(storage: TransferStorage, dailyQuotaBytes: number, requestsPerSecond: number): Record<string, string> {
  return {
    [Env.TRANSFER_TABLE]: storage.transferTable.tableName,
    [Env.METRICS_TABLE]: storage.metricsTable.tableName,
    [Env.DAILY_QUOTA_BYTES]: String(dailyQuotaBytes),
    [Env.INITIATE_REQUESTS_PER_SECOND]: String(requestsPerSecond),
    [Env.MAX_RETRIEVAL_JOBS]: String(storage.maxRetrievalJobsPerArchive),
  };
}

/** Suppressions every function role of the request stages shares. */
export function suppressFunctionNag(fn: lambda.Function): void {
  suppressNag(fn.role!, [
    { id: 'AwsSolutions-IAM4', reason: 'AWSLambdaBasicExecutionRole only allows writing this function\'s own logs.', appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'] },
  ]);
  suppressNag(fn.role!, [
    { id: 'AwsSolutions-IAM5', reason: 'Wildcards are limited to inventory-bucket key patterns of run data, the transfer table\'s StatusIndex and KMS data-key actions generated by grants.' },
  ], true);
}
