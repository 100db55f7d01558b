import { ArnFormat, Duration, Names, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AslObject, checkSubstitutions, PARTITION_PLACEHOLDER } from '../../asl/definitions';
import { suppressNag } from '../nag';

/*
 * The one place for how this library builds a state machine from a src/asl definition (internal,
 * not exported): its role, its log group, logging, tracing, placeholder substitution.
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

export interface DefinitionStateMachineProps {
  /** The definition as loaded by `loadDefinition` (possibly adjusted by {@link withStateField}). */
  readonly definition: AslObject;
  /** A value for every `${Name}` of the definition except `${Partition}`, which is the stack's. */
  readonly substitutions: Record<string, string>;
  /** Description of the state machine's role. */
  readonly description: string;
  readonly logRetention: logs.RetentionDays;
  /** Encrypts the log group and the state machine (the storage's customer managed key, when there is one). */
  readonly encryptionKey?: kms.IKey;
  /** Execution time-out, written into the definition (a string definition is not rewritten by CDK). */
  readonly timeout?: Duration;
  /** Adds the role's own statements, before the state machine adds its logging and tracing ones. */
  readonly grant?: (role: iam.Role, name: string) => void;
  /** Why the wildcards of the role (cdk-nag IAM5) are needed. */
  readonly wildcardReason: string;
}

/**
 * A STANDARD state machine named after its construct path (so its own ARN can be granted without a
 * dependency cycle), with its own role, logging ALL events without execution data to a vended log
 * group, and X-Ray tracing. Throws at synth for a placeholder without a value or a value without a
 * placeholder.
 */
export function definitionStateMachine(
  scope: Construct,
  props: DefinitionStateMachineProps,
): { stateMachine: sfn.StateMachine; role: iam.Role; logGroup: logs.LogGroup; name: string } {
  const stack = Stack.of(scope);
  const name = Names.uniqueResourceName(scope, { maxLength: 80, separator: '-' });
  // Resources are written `arn:${Partition}:states:::…`; the partition is the stack's.
  const substitutions = { [PARTITION_PLACEHOLDER]: stack.partition, ...props.substitutions };
  checkSubstitutions(props.definition, substitutions, scope.node.path);
  const logGroup = new logs.LogGroup(scope, 'StateMachineLogs', {
    logGroupName: `/aws/vendedlogs/states/${name}`,
    retention: props.logRetention,
    encryptionKey: props.encryptionKey,
  });
  const role = new iam.Role(scope, 'StateMachineRole', {
    assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
    description: props.description,
  });
  props.grant?.(role, name);
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: name,
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(
      props.timeout ? { ...props.definition, TimeoutSeconds: props.timeout.toSeconds() } : props.definition,
    )),
    definitionSubstitutions: substitutions,
    role,
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    // With the storage's key, definition and execution history use it too; CDK then grants the role
    // the key for this state machine's encryption context, and log delivery its kms:Decrypt*.
    encryptionConfiguration: props.encryptionKey ? new sfn.CustomerManagedEncryptionConfiguration(props.encryptionKey) : undefined,
  });
  suppressNag(role, [{ id: 'AwsSolutions-IAM5', reason: props.wildcardReason }], true);
  return { stateMachine, role, logGroup, name };
}

export interface DistributedMapMachineProps {
  readonly definition: AslObject;
  readonly substitutions: Record<string, string>;
  readonly functions: lambda.IFunction[];
  readonly logRetention: logs.RetentionDays;
  readonly encryptionKey?: kms.IKey;
  readonly timeout?: Duration;
  readonly description: string;
}

/**
 * A {@link definitionStateMachine} whose Distributed Maps run their item processors as child
 * executions of the state machine itself, and which may invoke only `functions`.
 */
export function distributedMapMachine(
  scope: Construct,
  props: DistributedMapMachineProps,
): { stateMachine: sfn.StateMachine; role: iam.Role; logGroup: logs.LogGroup } {
  const stack = Stack.of(scope);
  return definitionStateMachine(scope, {
    ...props,
    grant: (role, name) => {
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
    },
    wildcardReason: 'Wildcards are limited to: child executions of this state machine (names are generated), versions/aliases of the batch functions, inventory-bucket key patterns of run data, '
      + 'and the log-delivery and X-Ray actions whose APIs do not support resource-level permissions.',
  });
}
