import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { placeholdersOf } from '../../src/asl/definitions';
import { InventoryRetrieval } from '../../src/constructs/inventory-retrieval';
import { TransferStorage } from '../../src/constructs/transfer-storage';
import { InventoryEngine } from '../../src/core/transfer-options';

const VAULT = 'arn:aws:glacier:eu-west-1:111122223333:vaults/photos';

function build() {
  const stack = new Stack(new App(), 'Test', { env: { account: '111122223333', region: 'eu-west-1' } });
  const storage = new TransferStorage(stack, 'Storage', {});
  const inventory = new InventoryRetrieval(stack, 'InventoryRetrieval', {
    storage, vaultArns: [VAULT], destinationPrefix: 'restored/', partitionSizeBytes: 40 * 2 ** 40, maxArchiveSizeBytes: 5 * 2 ** 40,
  });
  const notifications = new lambda.Function(stack, 'Notifications', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>{}') });
  inventory.grantJobCompletion(notifications);
  return { template: Template.fromStack(stack), inventory };
}

describe('InventoryRetrieval construct', () => {
  const { template } = build();
  const machine = () => Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as any;

  test('every ${Name} of the definition has a substitution; engine threshold and waits are set', () => {
    const props = machine().Properties;
    const text = JSON.stringify(props.DefinitionString);
    const names = new Set(placeholdersOf(text));
    for (const name of names) expect(props.DefinitionSubstitutions[name]).toBeDefined();
    expect(text).toMatch(/NumericGreaterThan\\":419430400/); // 400 MiB
    expect(text).toMatch(/TimeoutSeconds\\":86400/);
    expect(text).toMatch(/\\"Seconds\\":1800/);
  });

  test('inventoryEngine: LAMBDA and GLUE force the engine through ChooseEngine\'s threshold; both engines stay deployed', () => {
    const threshold = (engine: InventoryEngine) => {
      const stack = new Stack(new App(), 'Engine');
      const storage = new TransferStorage(stack, 'Storage', {});
      new InventoryRetrieval(stack, 'InventoryRetrieval', {
        storage, vaultArns: [VAULT], destinationPrefix: '', partitionSizeBytes: 1, maxArchiveSizeBytes: 1, inventoryEngine: engine, lambdaEngineMaxBytes: 1000,
      });
      const t = Template.fromStack(stack);
      t.resourceCountIs('AWS::Glue::Job', 1);
      t.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('^Lambda inventory engine') });
      const text = JSON.stringify(Object.values(t.findResources('AWS::StepFunctions::StateMachine'))[0].Properties.DefinitionString);
      return Number(/NumericGreaterThan\\":(-?\d+)/.exec(text)?.[1]);
    };
    expect(threshold(InventoryEngine.AUTO)).toBe(1000);
    expect(threshold(InventoryEngine.GLUE)).toBe(-1);
    expect(threshold(InventoryEngine.LAMBDA)).toBe(Number.MAX_SAFE_INTEGER);
    const stack = new Stack(new App(), 'Bad');
    const storage = new TransferStorage(stack, 'Storage', {});
    expect(() => new InventoryRetrieval(stack, 'InventoryRetrieval', {
      storage, vaultArns: [VAULT], destinationPrefix: '', partitionSizeBytes: 1, maxArchiveSizeBytes: 1, inventoryEngine: 'Glue' as InventoryEngine,
    })).toThrow(/inventoryEngine must be one of 'auto', 'lambda', 'glue', got "Glue"/);
  });

  test('logs and X-Ray tracing on the state machine', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [Match.anyValue()] },
      TracingConfiguration: { Enabled: true },
    });
  });

  test('Glacier actions only on the given vaults', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const glacier = statements.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('glacier:')));
    expect(glacier.length).toBeGreaterThanOrEqual(4);
    for (const s of glacier) expect([s.Resource].flat()).toEqual([VAULT]);
    const actions = new Set(glacier.flatMap((s: any) => [s.Action].flat()));
    expect([...actions].sort()).toEqual(['glacier:DescribeJob', 'glacier:DescribeVault', 'glacier:GetJobOutput', 'glacier:InitiateJob', 'glacier:ListJobs']);
  });

  test('provided inventories: the validation function may DescribeVault and gets the tolerance (default 1 %); a tolerance outside 0-100 is refused (issue 22)', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
    const describeVault = policies.filter((p) => p.Properties.PolicyDocument.Statement.some((st: any) => [st.Action].flat().includes('glacier:DescribeVault')));
    expect(describeVault).toHaveLength(1);
    expect(JSON.stringify(describeVault[0].Properties.Roles)).toMatch(/InventoryValidation/);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('against the vault'),
      Environment: { Variables: Match.objectLike({ PROVIDED_INVENTORY_TOLERANCE_PERCENT: '1' }) },
    });
    const text = JSON.stringify(machine().Properties.DefinitionString);
    expect(text).toContain('CheckProvidedInventoryAgainstVault');
    for (const bad of [-1, 101, Number.NaN]) {
      const stack = new Stack(new App(), 'Bad');
      const storage = new TransferStorage(stack, 'Storage', {});
      expect(() => new InventoryRetrieval(stack, 'InventoryRetrieval', {
        storage, vaultArns: [VAULT], destinationPrefix: '', partitionSizeBytes: 1, maxArchiveSizeBytes: 1, providedInventoryTolerancePercent: bad,
      })).toThrow(/providedInventoryTolerancePercent must be a percentage from 0 to 100/);
    }
  });

  test('Glue job with a security configuration, continuous logs and the script asset', () => {
    template.hasResourceProperties('AWS::Glue::Job', {
      Command: { Name: 'glueetl', PythonVersion: '3' },
      SecurityConfiguration: Match.anyValue(),
      DefaultArguments: Match.objectLike({ '--enable-continuous-cloudwatch-log': 'true', '--partition_size': String(40 * 2 ** 40) }),
    });
    template.hasResourceProperties('AWS::Glue::SecurityConfiguration', {
      EncryptionConfiguration: { S3Encryptions: [{ S3EncryptionMode: 'SSE-S3' }] },
    });
  });

  test('Glue role: no managed policy, an inline policy of exactly the job\'s files and logs (issue 22)', () => {
    const roles = template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'glue.amazonaws.com' } })] } } });
    const [roleId, role] = Object.entries(roles)[0] as [string, any];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleId));
    const statements = policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const bySid = Object.fromEntries(statements.map((st: any) => [st.Sid, st]));
    const text = (v: unknown) => JSON.stringify(v);
    expect(Object.keys(bySid).sort()).toEqual(['GlueDefaultLogs', 'GlueTempDir', 'JobLogs', 'JobScriptAndModules', 'ListRunInventory', 'ReadRunInventory', 'ReplaceSortedInventory', 'WriteInventoryOutputs']);
    // The script and its five modules only (inventory_spark and inventory_json since Glue 5.0), by object key: no listing or reading of the CDK assets bucket.
    expect(bySid.JobScriptAndModules.Action).toBe('s3:GetObject');
    expect(bySid.JobScriptAndModules.Resource).toHaveLength(6);
    for (const r of bySid.JobScriptAndModules.Resource) expect(text(r)).toMatch(/cdk-hnb659fds-assets-111122223333-eu-west-1\/[0-9a-f]{64}\.py/);
    expect(text(bySid.ReadRunInventory.Resource)).toMatch(/\/\*\/original_inventory\/\*.*\/\*\/naming_override\/staged\/\*/);
    expect(text(bySid.WriteInventoryOutputs.Resource)).toMatch(/\*\/sorted_inventory\/\*.*\*\/skipped\/skipped\.csv.*\*\/inventory_errors\/errors\.csv.*\*\/inventory_summary\.json/);
    expect(text(bySid.ReplaceSortedInventory.Resource)).toMatch(/\*\/sorted_inventory\/\*"/);
    const actions = statements.flatMap((st: any) => [st.Action].flat());
    for (const a of actions) expect(a).toMatch(/^(s3:(GetObject|PutObject|DeleteObject|ListBucket)|logs:(CreateLogGroup|CreateLogStream|PutLogEvents|AssociateKmsKey))$/);
  });

  test('grantJobCompletion: env + SendTask* on this state machine only', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const send = statements.filter((s: any) => [s.Action].flat().includes('states:SendTaskSuccess'));
    expect(send.length).toBe(2); // poller + notifications processor
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ ASYNC_FACILITATOR_TABLE_NAME: Match.anyValue() }) }, Handler: 'index.handler', Code: { ZipFile: Match.anyValue() } });
  });
});
