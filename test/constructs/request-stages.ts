import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DownloadWindowExtension, DownloadWindowExtensionProps } from '../../src/constructs/download-window-extension';
import { InitiateRetrieval, InitiateRetrievalProps } from '../../src/constructs/initiate-retrieval';
import { TransferStorage, TransferStorageProps } from '../../src/constructs/transfer-storage';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
export const VAULT_ARNS = [`arn:aws:glacier:${REGION}:${ACCOUNT}:vaults/photos-2012`, `arn:aws:glacier:${REGION}:${ACCOUNT}:vaults/scans`];

/** Actions whose APIs have no resource-level permissions (Step Functions logging and X-Ray). */
export const STAR_ONLY_ACTIONS = new Set([
  'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries',
  'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
  'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets',
]);

export interface Built {
  readonly stack: Stack;
  readonly app: App;
  readonly storage: TransferStorage;
  readonly initiate: InitiateRetrieval;
  readonly extension: DownloadWindowExtension;
  readonly template: Template;
}

export function build(
  initiateProps: Partial<InitiateRetrievalProps> = {},
  extensionProps: Partial<DownloadWindowExtensionProps> = {},
  nag = false,
  storageProps: TransferStorageProps = {},
): Built {
  const app = new App();
  const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
  if (nag) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  const storage = new TransferStorage(stack, 'Storage', storageProps);
  const initiate = new InitiateRetrieval(stack, 'InitiateRetrieval', { storage, vaultArns: VAULT_ARNS, dailyQuotaBytes: 100 * 1024 ** 4, ...initiateProps });
  const extension = new DownloadWindowExtension(stack, 'DownloadWindowExtension', { storage, vaultArns: VAULT_ARNS, dailyQuotaBytes: 100 * 1024 ** 4, ...extensionProps });
  return { app, stack, storage, initiate, extension, template: Template.fromStack(stack) };
}

const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Policy statements attached to the role whose logical id starts with `rolePrefix`. */
export function statementsOf(template: Template, rolePrefix: string): Array<Record<string, any>> {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
  return policies
    .filter((p) => p.Properties.Roles.some((r: any) => String(r.Ref).startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

export function actionsOf(statement: Record<string, any>): string[] {
  return asArray(statement.Action);
}

export function resourcesOf(statement: Record<string, any>): unknown[] {
  return asArray(statement.Resource);
}

/** The state machine's definition string with tokens rendered as `<token>`, and its substitutions. */
export function definitionOf(template: Template, logicalIdPrefix: string): { text: string; substitutions: Record<string, unknown>; resource: any } {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [, resource] = Object.entries(machines).find(([id]) => id.startsWith(logicalIdPrefix)) as [string, any];
  const raw = resource.Properties.DefinitionString;
  const text = typeof raw === 'string' ? raw : (raw['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '<token>')).join('');
  return { text, substitutions: resource.Properties.DefinitionSubstitutions ?? {}, resource };
}
