import { CfnResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NagRuleCompliance, rules } from 'cdk-nag';
import { makeStack } from './helpers';
import { acknowledgedIds, suppressNag } from '../../src/constructs/nag';

/*
 * cdk-nag 3 only honours acknowledgments whose ids match its findings exactly, so the findings
 * this library works out for IAM4 and IAM5 must be the ones cdk-nag's own rules report. The rule
 * functions are the same in cdk-nag 2 (our devDependency) and 3; test:package runs cdk-nag 3 itself.
 */
function findingsOfRule(rule: (node: CfnResource) => NagRuleCompliance | string[], resource: CfnResource): string[] {
  const result = rule(resource);
  return Array.isArray(result) ? [...result].sort() : [];
}

describe('cdk-nag acknowledgments (cdk-nag 3 ids)', () => {
  const { stack } = makeStack({ enableDecommissioning: true, allowedVaultNames: ['photos'] });
  const iamResources = stack.node.findAll().filter((c): c is CfnResource => c instanceof iam.CfnPolicy || c instanceof iam.CfnRole);

  test('IAM5 and IAM4 findings equal the ones cdk-nag\'s rules report, on every IAM resource of the transfer', () => {
    expect(iamResources.length).toBeGreaterThan(40);
    let wildcardFindings = 0;
    for (const resource of iamResources) {
      for (const [id, rule] of [['AwsSolutions-IAM5', rules.iam.IAMNoWildcardPermissions], ['AwsSolutions-IAM4', rules.iam.IAMNoManagedPolicies]] as const) {
        const expected = findingsOfRule(rule as any, resource).map((f) => `${id}[${f}]`).sort();
        const ours = acknowledgedIds(resource, { id, reason: 'test reason long enough' }).filter((x) => x !== id).sort();
        expect({ path: resource.node.path, ids: ours }).toEqual({ path: resource.node.path, ids: expected });
        if (id === 'AwsSolutions-IAM5') wildcardFindings += expected.length;
      }
    }
    // The comparison is not vacuous: the transfer grants many scoped wildcards.
    expect(wildcardFindings).toBeGreaterThan(40);
  });

  test('appliesTo names the findings exactly; a rule without findings is acknowledged by its id', () => {
    const policy = iamResources.find((r) => r instanceof iam.CfnPolicy)!;
    expect(acknowledgedIds(policy, { id: 'AwsSolutions-IAM4', reason: 'managed policy reason', appliesTo: ['Policy::arn:x'] }))
      .toEqual(['AwsSolutions-IAM4', 'AwsSolutions-IAM4[Policy::arn:x]']);
    expect(acknowledgedIds(policy, { id: 'AwsSolutions-SQS3', reason: 'a queue without a DLQ' })).toEqual(['AwsSolutions-SQS3']);
  });

  test('every suppression needs a reason', () => {
    const bare = makeStack().stack;
    const role = new iam.Role(bare, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(() => suppressNag(role, [{ id: 'AwsSolutions-IAM5', reason: 'ok' }])).toThrow(/needs a reason/);
  });
});
