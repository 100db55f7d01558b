import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/*
 * The role an SSM Automation runbook of this construct assumes (internal).
 */

/**
 * A role only SSM Automation executions of this account and region may assume: `aws:SourceAccount`
 * and `aws:SourceArn` (`automation-execution/*`), so no other SSM feature or account can use it.
 * IAM cannot name the document in the trust policy (the source ARN is the execution's), so which
 * documents run with it is decided by who may pass it (`iam:PassRole`) and start which documents
 * (`ssm:StartAutomationExecution`); see README, "Who can do what".
 */
export function automationRole(scope: Construct, id: string, description: string): iam.Role {
  const stack = Stack.of(scope);
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com', {
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'ssm', resource: 'automation-execution', resourceName: '*' }) },
      },
    }),
    description,
  });
}
