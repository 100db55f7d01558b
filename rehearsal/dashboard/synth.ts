import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { GlacierVaultToS3Transfer } from '../../src';
import { OrchestrationEnv } from '../../src/contract/environment';

/*
 * The dashboard as a user deploys it: the L3 (GlacierVaultToS3Transfer) synthesized in a stack,
 * its AWS::CloudWatch::Dashboard body with CloudFormation's references resolved to names the
 * rehearsal can follow (Ref X → "X", Fn::GetAtt [X, A] → "X.A", pseudo parameters to the stack's
 * account and region), and the metrics namespace the template gives the functions that publish.
 */

/** A CloudFormation resource of the synthesized template. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface SynthesizedDashboard {
  /** The dashboard body (CloudWatch's dashboard body structure), references resolved. */
  readonly body: DashboardBody;
  /** METRICS_NAMESPACE of the template's publishing functions (DashboardUpdate, DecommissionReport). */
  readonly metricsNamespace: string;
  /** Every resource of the template, by logical id (to check what a dimension names). */
  readonly resources: Readonly<Record<string, TemplateResource>>;
}

export interface DashboardBody {
  readonly widgets: DashboardWidgetJson[];
  readonly variables?: { readonly type: string; readonly property?: string; readonly id: string }[];
  readonly start?: string;
}

export interface DashboardWidgetJson {
  readonly type: string;
  readonly properties: {
    readonly title?: string;
    readonly view?: string;
    readonly period?: number;
    readonly metrics?: unknown[][];
    readonly markdown?: string;
  };
}

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';

/** Resolves the intrinsic functions CDK puts into a dashboard body. */
export function resolveIntrinsics(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(resolveIntrinsics);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [fn, arg] = entries[0];
    switch (fn) {
      case 'Ref': {
        const pseudo: Record<string, string> = { 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' };
        return pseudo[arg as string] ?? arg;
      }
      case 'Fn::GetAtt': return (arg as string[]).join('.');
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        return parts.map((p) => String(resolveIntrinsics(p))).join(sep);
      }
      default:
        if (fn.startsWith('Fn::')) throw new Error(`dashboard body: unsupported intrinsic ${fn} (resolveIntrinsics knows Ref, Fn::GetAtt, Fn::Join)`);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveIntrinsics(v)]));
}

/** The dashboard and namespace of a CloudFormation template holding one GlacierVaultToS3Transfer. */
export function dashboardOfTemplate(template: { Resources: Record<string, TemplateResource> }): SynthesizedDashboard {
  const resources = template.Resources;
  const dashboards = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
  if (dashboards.length !== 1) throw new Error(`template: expected exactly one AWS::CloudWatch::Dashboard, found ${dashboards.length}`);
  const body = JSON.parse(String(resolveIntrinsics(dashboards[0].Properties!.DashboardBody))) as DashboardBody;
  const namespaces = new Set(Object.values(resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function')
    .map((r) => (r.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables?.[OrchestrationEnv.METRICS_NAMESPACE])
    .filter((ns): ns is string => typeof ns === 'string' && ns !== ''));
  if (namespaces.size !== 1) throw new Error(`template: the publishing functions' ${OrchestrationEnv.METRICS_NAMESPACE} should be one namespace, found ${[...namespaces].join(', ') || 'none'}`);
  return { body, metricsNamespace: [...namespaces][0], resources };
}

/**
 * Synthesizes the L3 with default props in a stack named `Rehearsal`. The Lambda bundles are not
 * needed for the dashboard (and may not be built): every function's code is a placeholder S3
 * object while the stack is built; nothing else of the construct is changed.
 */
export function synthesizeDashboard(): SynthesizedDashboard {
  const outdir = mkdtempSync(join(tmpdir(), 'rehearsal-synth-'));
  const fromAsset = lambda.Code.fromAsset;
  try {
    const app = new App({ outdir });
    const stack = new Stack(app, 'Rehearsal', { env: { account: ACCOUNT, region: REGION } });
    const code = s3.Bucket.fromBucketName(stack, 'PlaceholderCode', 'rehearsal-placeholder-code');
    lambda.Code.fromAsset = (() => lambda.Code.fromBucket(code, 'handler.zip')) as unknown as typeof lambda.Code.fromAsset;
    new GlacierVaultToS3Transfer(stack, 'Transfer', { destinationBucket: s3.Bucket.fromBucketName(stack, 'Destination', 'rehearsal-destination') });
    const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, TemplateResource> };
    return dashboardOfTemplate(template);
  } finally {
    lambda.Code.fromAsset = fromAsset;
    rmSync(outdir, { recursive: true, force: true });
  }
}
