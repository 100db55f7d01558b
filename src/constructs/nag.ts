import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One cdk-nag rule suppression with the reason it does not apply. */
export interface NagSuppression {
  readonly id: string;
  readonly reason: string;
  /** Limit the suppression to findings such as `Resource::*` (cdk-nag `appliesTo`). */
  readonly appliesTo?: string[];
}

/**
 * Records cdk-nag suppressions as the `cdk_nag` metadata cdk-nag reads, without making cdk-nag a
 * runtime dependency of every consumer. Applies to the construct's CloudFormation resource, or to
 * every CloudFormation resource below it when `applyToChildren` is set.
 */
export function suppressNag(scope: IConstruct, suppressions: NagSuppression[], applyToChildren = false): void {
  const targets = applyToChildren
    ? scope.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c))
    : [scope.node.defaultChild ?? scope].filter((c): c is CfnResource => CfnResource.isCfnResource(c));
  if (targets.length === 0) throw new Error(`suppressNag: ${scope.node.path} has no CloudFormation resource`);
  for (const resource of targets) {
    const existing = (resource.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as object[];
    const added = suppressions.map((s) => ({ id: s.id, reason: s.reason, ...(s.appliesTo ? { applies_to: s.appliesTo } : {}) }));
    resource.addMetadata('cdk_nag', { rules_to_suppress: [...existing, ...added] });
  }
}
