/* eslint-disable @stylistic/max-len */
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ACCOUNT, actionsOf, REGION, resourcesOf, STAR_ONLY_ACTIONS, VAULT_ARNS } from './request-stages';
import { VaultDecommission, VaultDecommissionProps } from '../../src/constructs/decommission';
import { TransferStorage } from '../../src/constructs/transfer-storage';

function build(props: Partial<VaultDecommissionProps> = {}, nag = false) {
  const app = new App();
  const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
  if (nag) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  const storage = new TransferStorage(stack, 'Storage');
  const destinationBucket = s3.Bucket.fromBucketName(stack, 'Destination', 'my-archive-bucket');
  const decommission = new VaultDecommission(stack, 'Decommission', { storage, destinationBucket, vaultArns: VAULT_ARNS, ...props });
  return { app, stack, decommission, template: Template.fromStack(stack) };
}

/** Every policy statement with the logical id of the role it is attached to. */
function statementsByRole(template: Template): Array<{ role: string; statement: Record<string, any> }> {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
  return policies.flatMap((p) => p.Properties.Roles.flatMap((r: any) => p.Properties.PolicyDocument.Statement.map((statement: any) => ({ role: String(r.Ref), statement }))));
}

const DESTRUCTIVE = ['glacier:DeleteArchive', 'glacier:DeleteVault'];

describe('VaultDecommission construct', () => {
  test('default: dry runs only, no DeleteArchive/DeleteVault anywhere, runbook offers only DryRun YES', () => {
    const { template } = build();
    for (const { statement } of statementsByRole(template)) {
      for (const a of actionsOf(statement)) expect(DESTRUCTIVE).not.toContain(a);
      expect(actionsOf(statement)).not.toContain('glacier:*');
    }
    const doc = Object.values(template.findResources('AWS::SSM::Document'))[0] as any;
    expect(doc.Properties.Content.parameters.DryRun).toMatchObject({ allowedValues: ['YES'], default: 'YES' });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ DECOMMISSION_DELETION_ENABLED: 'false' }) } });
  });

  test('allowDeletion: DeleteArchive only on the batch role, DeleteVault only on the finalizer role, only on the vault ARNs', () => {
    const { template } = build({ allowDeletion: true });
    const destructive = statementsByRole(template).filter(({ statement }) => actionsOf(statement).some((a) => DESTRUCTIVE.includes(a)));
    expect(destructive).toHaveLength(2);
    const byAction = Object.fromEntries(destructive.map(({ role, statement }) => [actionsOf(statement).join(','), { role, resources: resourcesOf(statement) }]));
    expect(byAction['glacier:DeleteArchive'].role).toMatch(/^DecommissionDecommissionBatchServiceRole/);
    expect(byAction['glacier:DeleteVault'].role).toMatch(/^DecommissionVaultFinalizerServiceRole/);
    for (const { resources } of Object.values(byAction)) expect(resources).toEqual(VAULT_ARNS);
    // The state machine, the runbook role and the other functions get none of it.
    for (const { role } of destructive) expect(role).not.toMatch(/StateMachineRole|AutomationRole|ListRunArchives|DecommissionReport/);
    const doc = Object.values(template.findResources('AWS::SSM::Document'))[0] as any;
    expect(doc.Properties.Content.parameters.DryRun).toMatchObject({ allowedValues: ['YES', 'NO'], default: 'YES' });
  });

  test('allowDeletion refuses wildcard vaults', () => {
    expect(() => build({ allowDeletion: true, vaultArns: [`arn:aws:glacier:${REGION}:${ACCOUNT}:vaults/*`] })).toThrow(/explicit vaults/);
    expect(() => build({ allowDeletion: false, vaultArns: [`arn:aws:glacier:${REGION}:${ACCOUNT}:vaults/*`] })).not.toThrow();
  });

  test('runbook: Decommission document with WorkflowRun, VaultNameConfirmation, DryRun; API steps only', () => {
    const { template } = build({ allowDeletion: true, namePrefix: 'Glacier' });
    const doc = Object.values(template.findResources('AWS::SSM::Document'))[0] as any;
    expect(doc.Properties).toMatchObject({ Name: 'Glacier-Decommission', DocumentType: 'Automation' });
    const content = doc.Properties.Content;
    expect(Object.keys(content.parameters)).toEqual(['WorkflowRun', 'VaultNameConfirmation', 'DryRun']);
    const actions = content.mainSteps.map((s: any) => s.action);
    for (const a of actions) expect(['aws:executeAwsApi', 'aws:assertAwsResourceProperty', 'aws:branch']).toContain(a);
    const confirm = content.mainSteps.find((s: any) => s.name === 'CheckVaultNameConfirmation');
    expect(confirm.inputs).toMatchObject({ PropertySelector: '$.Item.vaultName.S', DesiredValues: ['{{VaultNameConfirmation}}'] });
    const start = content.mainSteps.find((s: any) => s.name === 'StartDecommission');
    expect(JSON.parse(start.inputs.input)).toEqual({ runId: '{{WorkflowRun}}', vaultName: '{{VaultNameConfirmation}}', dryRun: '{{DryRun}}' });
    const automation = statementsByRole(template).filter(({ role }) => role.startsWith('DecommissionAutomationRole')).flatMap(({ statement }) => actionsOf(statement));
    expect(new Set(automation)).toEqual(new Set(['dynamodb:GetItem', 'dynamodb:Query', 'states:StartExecution']));
    // Issue 22: assumable only by SSM Automation executions of this account and region.
    const roles = template.findResources('AWS::IAM::Role') as Record<string, any>;
    const [trust] = Object.entries(roles).find(([id]) => id.startsWith('DecommissionAutomationRole'))![1].Properties.AssumeRolePolicyDocument.Statement;
    expect(trust.Condition.StringEquals).toEqual({ 'aws:SourceAccount': ACCOUNT });
    expect(JSON.stringify(trust.Condition.ArnLike['aws:SourceArn'])).toContain(`:ssm:${REGION}:${ACCOUNT}:automation-execution/*`);
  });

  test('state machine: substitutions resolved, functions invoked, no "*" except log delivery / metrics', () => {
    const { template } = build({ allowDeletion: true, metricsNamespace: 'GlacierTransfer' });
    const machines = template.findResources('AWS::StepFunctions::StateMachine');
    const [machine] = Object.values(machines) as any[];
    const subs = Object.keys(machine.Properties.DefinitionSubstitutions).sort();
    expect(subs).toEqual(['DecommissionBatchFunctionArn', 'DecommissionReportFunctionArn', 'InventoryBucket', 'ListRunArchivesFunctionArn', 'Partition', 'VaultFinalizerFunctionArn']);
    for (const { statement } of statementsByRole(template)) {
      if (!resourcesOf(statement).includes('*')) continue;
      for (const a of actionsOf(statement)) expect(STAR_ONLY_ACTIONS.has(a) || a === 'cloudwatch:PutMetricData').toBe(true);
    }
    const metrics = statementsByRole(template).find(({ statement }) => actionsOf(statement).includes('cloudwatch:PutMetricData'))!;
    expect(metrics.statement.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'GlacierTransfer' } });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DECOMMISSION_DELETES_PER_SECOND: '5', DESTINATION_BUCKET_OWNER: ACCOUNT, DECOMMISSION_DELETION_ENABLED: 'true' }) },
    });
  });

  test('dashboard row when a dashboard and namespace are given', () => {
    const app = new App();
    const stack = new Stack(app, 'Consumer', { env: { account: ACCOUNT, region: REGION } });
    const dashboard = new cloudwatch.Dashboard(stack, 'Dash');
    new VaultDecommission(stack, 'Decommission', {
      storage: new TransferStorage(stack, 'Storage'),
      destinationBucket: s3.Bucket.fromBucketName(stack, 'Destination', 'my-archive-bucket'),
      vaultArns: VAULT_ARNS,
      dashboard,
      metricsNamespace: 'GlacierTransfer',
    });
    const body = JSON.stringify(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
    expect(body).toContain('DecommissionToDeleteCount');
  });

  test('cdk-nag AwsSolutions: no unsuppressed errors', () => {
    const { stack } = build({ allowDeletion: true, metricsNamespace: 'GlacierTransfer' }, true);
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${String(e.entry.data).slice(0, 160)}`)).toEqual([]);
  });

  test('props are validated', () => {
    expect(() => build({ deletesPerSecond: 0 })).toThrow(/deletesPerSecond/);
    expect(() => build({ batchConcurrency: 0 })).toThrow(/batchConcurrency/);
    expect(() => build({ archivesPerBatch: 101 })).toThrow(/archivesPerBatch/);
  });
});
