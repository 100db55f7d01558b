import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { TransferRunbooks } from '../../src/constructs/runbooks';
import { DestinationStorageClass, RetrievalTier } from '../../src/core/transfer-options';

const ALLOWED_ACTIONS = new Set(['aws:executeAwsApi', 'aws:assertAwsResourceProperty', 'aws:branch', 'aws:invokeLambdaFunction', 'aws:waitForAwsResourceProperty']);

function synth(extra: { allowedRetrievalTiers?: RetrievalTier[] } = {}) {
  const app = new App();
  const stack = new Stack(app, 'S', { env: { account: '111122223333', region: 'eu-west-1' } });
  const sm = (name: string) => sfn.StateMachine.fromStateMachineArn(stack, name, `arn:aws:states:eu-west-1:111122223333:stateMachine:${name}`);
  const runbooks = new TransferRunbooks(stack, 'Runbooks', {
    orchestrator: sm('Orchestrator'),
    initiateRetrieval: sm('Initiate'),
    completionChecker: lambda.Function.fromFunctionArn(stack, 'Checker', 'arn:aws:lambda:eu-west-1:111122223333:function:Checker'),
    transferTable: dynamodb.Table.fromTableName(stack, 'Table', 'transfer'),
    destinationBucket: s3.Bucket.fromBucketName(stack, 'Dest', 'dest-bucket'),
    vaultArns: ['arn:aws:glacier:eu-west-1:111122223333:vaults/photos'],
    storageClass: DestinationStorageClass.DEEP_ARCHIVE,
    retrievalTier: RetrievalTier.BULK,
    namePrefix: 'GlacierTransfer',
    ...extra,
  });
  return { runbooks, template: Template.fromStack(stack) };
}

const docs = (extra: { allowedRetrievalTiers?: RetrievalTier[] } = {}) => {
  const { template } = synth(extra);
  const out: Record<string, any> = {};
  for (const r of Object.values(template.findResources('AWS::SSM::Document')) as any[]) out[r.Properties.Name] = r.Properties;
  return out;
};

describe('TransferRunbooks', () => {
  test('three Automation documents, schema 0.3, only allowed actions, no script runtimes', () => {
    const d = docs();
    expect(Object.keys(d).sort()).toEqual(['GlacierTransfer-Launch', 'GlacierTransfer-Resume', 'GlacierTransfer-Stop']);
    for (const doc of Object.values(d)) {
      expect(doc.DocumentType).toBe('Automation');
      expect(doc.Content.schemaVersion).toBe('0.3');
      expect(doc.Content.assumeRole).toBeDefined();
      const names = new Set<string>();
      for (const step of doc.Content.mainSteps) {
        expect(ALLOWED_ACTIONS.has(step.action)).toBe(true);
        expect(step.action).not.toBe('aws:executeScript');
        expect(names.has(step.name)).toBe(false);
        names.add(step.name);
      }
      // Every branch/nextStep target exists.
      for (const step of doc.Content.mainSteps) {
        const targets = [step.nextStep, step.inputs?.Default, ...(step.inputs?.Choices ?? []).map((c: any) => c.NextStep)].filter(Boolean);
        for (const t of targets) expect(names.has(t)).toBe(true);
      }
      for (const [name, p] of Object.entries<any>(doc.Content.parameters)) {
        expect(p.type).toBe('String');
        expect(p.description).toBeTruthy();
        expect(p.allowedValues !== undefined || p.allowedPattern !== undefined).toBe(true);
        if (p.default !== undefined && p.allowedValues) expect(p.allowedValues).toContain(p.default);
        if (p.default !== undefined && p.allowedPattern) expect(new RegExp(p.allowedPattern).test(p.default)).toBe(true);
        expect(name).toMatch(/^[A-Za-z]+$/);
      }
    }
  });

  test('Launch parameters, validations and start input', () => {
    const launch = docs()['GlacierTransfer-Launch'].Content;
    const p = launch.parameters;
    expect(Object.keys(p).sort()).toEqual(['AcknowledgeCrossRegionCost', 'Description', 'NamingOverrideFile', 'ProvidedInventory', 'RetrievalTier', 'StorageClass', 'VaultName', 'WorkflowRun']);
    expect(p.VaultName.default).toBeUndefined(); // required
    expect(p.ProvidedInventory.allowedValues).toEqual(['NO', 'YES']);
    expect(p.StorageClass.allowedValues).toContain('S3 Glacier Deep Archive');
    expect(p.StorageClass.default).toBe('S3 Glacier Deep Archive');
    // Spend bound (issue 22): by default a caller can choose only the configured tier.
    expect(p.RetrievalTier.allowedValues).toEqual(['Bulk']);
    const pattern = new RegExp(p.NamingOverrideFile.allowedPattern);
    expect(pattern.test('s3://my-bucket/names.csv')).toBe(true);
    expect(pattern.test('https://b.s3.eu-west-1.amazonaws.com/n.csv?X-Amz-Signature=1')).toBe(true);
    expect(pattern.test('ftp://x')).toBe(false);
    expect(new RegExp(p.WorkflowRun.allowedPattern).test('run 1')).toBe(false);
    // Reserved run ids: prefixes of the inventory bucket that are not runs (tmp/ expires after 14 days).
    for (const reserved of ['tmp', 'glue_tmp']) expect(new RegExp(p.WorkflowRun.allowedPattern).test(reserved)).toBe(false);
    for (const fine of ['', 'tmp2', 'my-tmp', 'run-1']) expect(new RegExp(p.WorkflowRun.allowedPattern).test(fine)).toBe(true);
    const steps = launch.mainSteps.map((s: any) => s.name);
    expect(steps).toEqual(expect.arrayContaining(['CheckVault', 'CheckDestinationBucket', 'CheckRegion', 'CheckNoActiveRunForVault', 'StartWithGeneratedRunId', 'StartWithGivenRunId']));
    const bucket = launch.mainSteps.find((s: any) => s.name === 'CheckDestinationBucket');
    expect(bucket.inputs).toMatchObject({ Api: 'GetBucketLocation', ExpectedBucketOwner: '{{global:ACCOUNT_ID}}' });
    const start = launch.mainSteps.find((s: any) => s.name === 'StartWithGivenRunId');
    expect(JSON.parse(start.inputs.input)).toEqual({
      runId: '{{WorkflowRun}}',
      mode: 'LAUNCH',
      vaultName: '{{VaultName}}',
      providedInventory: '{{ProvidedInventory}}',
      description: '{{Description}}',
      storageClass: '{{StorageClass}}',
      tier: '{{RetrievalTier}}',
      namingOverride: '{{NamingOverrideFile}}',
      acknowledgeCrossRegion: '{{AcknowledgeCrossRegionCost}}',
    });
  });

  test('allowedRetrievalTiers are the only tiers Launch and Resume offer', () => {
    const d = docs({ allowedRetrievalTiers: [RetrievalTier.STANDARD, RetrievalTier.BULK] });
    expect(d['GlacierTransfer-Launch'].Content.parameters.RetrievalTier).toMatchObject({ allowedValues: ['Bulk', 'Standard'], default: 'Bulk' });
    expect(d['GlacierTransfer-Resume'].Content.parameters.RetrievalTier.allowedValues).toEqual(['Keep current', 'Bulk', 'Standard']);
  });

  test('Resume takes the vault from the run record; Stop flags the run and stops InitiateRetrieval', () => {
    const d = docs();
    const resume = d['GlacierTransfer-Resume'].Content;
    expect(resume.parameters.WorkflowRun.default).toBeUndefined();
    expect(resume.parameters.StorageClass.default).toBe('Keep current');
    const start = resume.mainSteps.find((s: any) => s.name === 'StartResume');
    expect(JSON.parse(start.inputs.input)).toMatchObject({ mode: 'RESUME', vaultName: '{{GetRun.VaultName}}', retryFailed: '{{RetryFailed}}' });
    expect(resume.parameters.RetryFailed).toMatchObject({ type: 'String', allowedValues: ['YES', 'NO'], default: 'YES' });
    // Only Resume retries failed archives: Launch neither offers nor passes it.
    const launch = d['GlacierTransfer-Launch'].Content;
    expect(launch.parameters.RetryFailed).toBeUndefined();
    for (const step of launch.mainSteps.filter((s: any) => s.inputs?.Api === 'StartExecution')) expect(JSON.parse(step.inputs.input).retryFailed).toBeUndefined();
    const stop = d['GlacierTransfer-Stop'].Content;
    expect(stop.parameters.StagedArchives.allowedValues).toEqual(['FINISH', 'RESET']);
    expect(stop.mainSteps.map((s: any) => s.name)).toEqual(['CheckRunActive', 'GetRun', 'RequestStop', 'StopRequestingArchives', 'CheckCompletionNow']);
  });

  test('automation role: least privilege', () => {
    const { template } = synth();
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((r: any) => r.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s: any) => [s.Action].flat()).sort();
    expect(actions).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'glacier:DescribeVault', 'lambda:InvokeFunction', 's3:GetBucketLocation', 'states:StartExecution', 'states:StopExecution']);
    for (const s of statements) expect(s.Resource).not.toBe('*');
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0] as any;
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service).toBe('ssm.amazonaws.com');
  });

  test('automation role: trusted only by SSM Automation executions of this account and region (issue 22)', () => {
    const { template } = synth();
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0] as any;
    const [trust] = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust.Condition.StringEquals).toEqual({ 'aws:SourceAccount': '111122223333' });
    expect(JSON.stringify(trust.Condition.ArnLike['aws:SourceArn'])).toMatch(/":ssm:eu-west-1:111122223333:automation-execution\/\*"/);
  });

  test('the Stop runbook\'s write is limited to the attributes its UpdateItem names, returns nothing (issue 22)', () => {
    const { template } = synth();
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((r: any) => r.Properties.PolicyDocument.Statement);
    const write = statements.filter((s: any) => [s.Action].flat().includes('dynamodb:UpdateItem'));
    expect(write).toHaveLength(1);
    const allowed: string[] = write[0].Condition['ForAllValues:StringEquals']['dynamodb:Attributes'];
    expect(write[0].Condition['ForAllValues:StringLike']).toEqual({ 'dynamodb:LeadingKeys': ['run#*'] });
    expect(write[0].Condition.StringEqualsIfExists).toEqual({ 'dynamodb:ReturnValues': 'NONE' });
    expect(allowed).not.toEqual(expect.arrayContaining(['namingOverrideKey']));
    // Every attribute the Stop document's UpdateItem names (key, update, condition) is in the list, and nothing else is.
    const documents = Object.values(template.findResources('AWS::SSM::Document')) as any[];
    const stop = documents.find((d) => d.Properties.Name === 'GlacierTransfer-Stop').Properties.Content;
    const update = stop.mainSteps.find((st: any) => st.inputs?.Api === 'UpdateItem').inputs;
    const names = new Set<string>(Object.keys(update.Key));
    for (const expr of [update.UpdateExpression, update.ConditionExpression]) {
      for (const token of expr.match(/[:#]?[A-Za-z_][A-Za-z0-9_]*/g) ?? []) {
        if (token.startsWith('#')) names.add(update.ExpressionAttributeNames[token]);
        else if (!token.startsWith(':') && !['SET', 'AND', 'OR', 'NOT'].includes(token)) names.add(token);
      }
    }
    expect([...names].sort()).toEqual([...allowed].sort());
  });
});
