import * as cdk from 'aws-cdk-lib';
import { AspectPriority, Aspects, CfnResource, IAspect, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/** One cdk-nag rule suppression with the reason it does not apply. */
export interface NagSuppression {
  readonly id: string;
  readonly reason: string;
  /** Limit the suppression to findings such as `Resource::*` (cdk-nag `appliesTo`). */
  readonly appliesTo?: string[];
}

/*
 * The one place where this library tells cdk-nag which of its rules do not apply, for both major
 * versions, without making cdk-nag a dependency of every consumer:
 *
 * - cdk-nag 2 (an Aspect) reads the `cdk_nag` metadata of each CloudFormation resource; a rule id
 *   without `applies_to` covers every finding of that rule on the resource.
 * - cdk-nag 3 (a policy-validation plugin, aws-cdk-lib >= 2.257) reads acknowledgments made with
 *   `Validations.of(construct).acknowledge()`, and matches ids exactly: a rule that reports
 *   findings (IAM4 managed policies, IAM5 wildcards) is only acknowledged finding by finding, as
 *   `AwsSolutions-IAM5[Resource::<Bucket.Arn>/*]`. Those findings name logical ids the consumer's
 *   construct ids decide and grants added after this call, so they are worked out when the app is
 *   synthesized (a read-only Aspect), from the resource's final policies.
 *
 * With an aws-cdk-lib older than 2.257 there is no `Validations` API and no cdk-nag 3 either, so
 * only the metadata is written.
 */

/** Rules whose cdk-nag check reports findings, and how to list them for a resource. */
const FINDING_RULES: Record<string, (resource: CfnResource) => string[]> = {
  'AwsSolutions-IAM4': managedPolicyFindings,
  'AwsSolutions-IAM5': wildcardFindings,
};

/**
 * Records cdk-nag suppressions for the construct's CloudFormation resource, or for every
 * CloudFormation resource below it when `applyToChildren` is set (see the comment above).
 */
export function suppressNag(scope: IConstruct, suppressions: NagSuppression[], applyToChildren = false): void {
  const targets = applyToChildren
    ? scope.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c))
    : [scope.node.defaultChild ?? scope].filter((c): c is CfnResource => CfnResource.isCfnResource(c));
  if (targets.length === 0) throw new Error(`suppressNag: ${scope.node.path} has no CloudFormation resource`);
  for (const s of suppressions) {
    if (s.reason.trim().length < 10) throw new Error(`suppressNag: ${s.id} on ${scope.node.path} needs a reason (at least 10 characters)`);
  }
  for (const resource of targets) {
    const existing = (resource.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as object[];
    const added = suppressions.map((s) => ({ id: s.id, reason: s.reason, ...(s.appliesTo ? { applies_to: s.appliesTo } : {}) }));
    resource.addMetadata('cdk_nag', { rules_to_suppress: [...existing, ...added] });
    if (validationsOf(resource)) Aspects.of(resource).add(new AcknowledgeAtSynth(resource, suppressions), { priority: AspectPriority.READONLY });
  }
}

/** The cdk-nag 3 rule ids that acknowledge `suppression` on `resource`, given its current template. */
export function acknowledgedIds(resource: CfnResource, suppression: NagSuppression): string[] {
  const findings = suppression.appliesTo ?? FINDING_RULES[suppression.id]?.(resource) ?? [];
  // The bare id too: cdk-nag 3 reports a rule that fails to evaluate under it.
  return [suppression.id, ...findings.map((finding) => `${suppression.id}[${finding}]`)];
}

interface Acknowledger { acknowledge(...rules: Array<{ id: string; reason: string }>): void }

/** `Validations.of(scope)` when this aws-cdk-lib has it (2.257 and later), else undefined. */
function validationsOf(scope: IConstruct): Acknowledger | undefined {
  const validations = (cdk as unknown as { Validations?: { of(scope: IConstruct): Partial<Acknowledger> } }).Validations;
  const forScope = validations?.of(scope);
  return typeof forScope?.acknowledge === 'function' ? forScope as Acknowledger : undefined;
}

/** Acknowledges the suppressions on one resource once its policies are final. */
class AcknowledgeAtSynth implements IAspect {
  private done = false;
  constructor(private readonly resource: CfnResource, private readonly suppressions: NagSuppression[]) {}

  public visit(node: IConstruct): void {
    if (node !== this.resource || this.done) return;
    this.done = true;
    const validations = validationsOf(this.resource)!;
    for (const s of this.suppressions) {
      for (const id of acknowledgedIds(this.resource, s)) validations.acknowledge({ id, reason: s.reason });
    }
  }
}

/** `Policy::<arn>` for each managed policy of an IAM role, user or group (cdk-nag IAM4 findings). */
function managedPolicyFindings(resource: CfnResource): string[] {
  if (!(resource instanceof iam.CfnRole || resource instanceof iam.CfnUser || resource instanceof iam.CfnGroup)) return [];
  const arns = asArray(Stack.of(resource).resolve(resource.managedPolicyArns));
  return unique(arns.map((arn) => `Policy::${flattenReference(arn)}`));
}

/**
 * `Action::<action>` and `Resource::<resource>` for every wildcard an Allow statement grants
 * (cdk-nag IAM5 findings), over a policy resource's document or a principal's inline policies.
 */
function wildcardFindings(resource: CfnResource): string[] {
  const stack = Stack.of(resource);
  const documents: any[] = [];
  if (resource instanceof iam.CfnPolicy || resource instanceof iam.CfnManagedPolicy) {
    documents.push(stack.resolve(resource.policyDocument));
  } else if (resource instanceof iam.CfnRole || resource instanceof iam.CfnUser || resource instanceof iam.CfnGroup) {
    for (const policy of asArray(stack.resolve(resource.policies))) documents.push(stack.resolve(policy).policyDocument);
  }
  const findings: string[] = [];
  for (const document of documents) {
    for (const statement of asArray(document?.Statement)) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asArray(statement.Action)) if (String(action).includes('*')) findings.push(`Action::${action}`);
      for (const target of asArray(statement.Resource)) {
        const flat = flattenReference(target);
        if (flat.includes('*')) findings.push(`Resource::${flat}`);
      }
    }
  }
  return unique(findings);
}

/**
 * A resolved CloudFormation value as the flat string cdk-nag names findings with: Ref and GetAtt
 * become `<Id>` and `<Id.Attr>`, Join is joined, Sub's `${X}` becomes `<X>`, anything else is its JSON.
 */
function flattenReference(value: any): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (value['Fn::Join']) {
    const [separator, parts] = value['Fn::Join'];
    return (parts as any[]).map(flattenReference).join(separator);
  }
  if (value['Fn::Sub']) return flattenReference(value['Fn::Sub']);
  if (value['Fn::GetAtt']) {
    const [logicalId, attribute] = value['Fn::GetAtt'];
    return `<${flattenReference(logicalId)}.${flattenReference(attribute)}>`;
  }
  if (value['Fn::ImportValue']) return flattenReference(value['Fn::ImportValue']);
  if (value.Ref) return `<${flattenReference(value.Ref)}>`;
  return JSON.stringify(value);
}

function asArray(value: any): any[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
