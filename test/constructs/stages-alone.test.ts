import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  ArchiveRetrieval, DestinationStorageClass, DownloadWindowExtension, GlacierVaultToS3Transfer, InitiateRetrieval, InventoryRetrieval,
  Orchestrator, RetrievalTier, TransferStorage, VaultDecommission,
} from '../../src';

/*
 * Every exported stage construct is secure when used on its own, without GlacierVaultToS3Transfer:
 * its log groups are encrypted with the storage's customer managed key and have a retention.
 */

const VAULTS = ['arn:aws:glacier:eu-west-1:111122223333:vaults/photos'];
const TiB = 1024 ** 4;

interface Parts {
  readonly stack: Stack;
  readonly storage: TransferStorage;
  readonly bucket: s3.IBucket;
}

function parts(): Parts {
  const stack = new Stack(new App(), 'Consumer', { env: { account: '111122223333', region: 'eu-west-1' } });
  const encryptionKey = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const storage = new TransferStorage(stack, 'Storage', { encryptionKey });
  return { stack, storage, bucket: s3.Bucket.fromBucketName(stack, 'Destination', 'my-archive-bucket') };
}

const stages: Record<string, (p: Parts) => Construct> = {
  ArchiveRetrieval: ({ stack, storage, bucket }) => new ArchiveRetrieval(stack, 'Stage', { storage, destinationBucket: bucket, vaultArns: VAULTS, chunkSizeBytes: 2 ** 30 }),
  InitiateRetrieval: ({ stack, storage }) => new InitiateRetrieval(stack, 'Stage', { storage, vaultArns: VAULTS, dailyQuotaBytes: 100 * TiB }),
  DownloadWindowExtension: ({ stack, storage }) => new DownloadWindowExtension(stack, 'Stage', { storage, vaultArns: VAULTS, dailyQuotaBytes: 100 * TiB }),
  InventoryRetrieval: ({ stack, storage }) => new InventoryRetrieval(stack, 'Stage', {
    storage, vaultArns: VAULTS, destinationPrefix: '', partitionSizeBytes: 40 * TiB, maxArchiveSizeBytes: 5 * TiB,
  }),
  VaultDecommission: ({ stack, storage, bucket }) => new VaultDecommission(stack, 'Stage', { storage, destinationBucket: bucket, vaultArns: VAULTS }),
  Orchestrator: ({ stack, storage, bucket }) => {
    // Its inputs are other stages; only the orchestrator's own log groups are looked at below.
    const inputs = new Construct(stack, 'Inputs');
    return new Orchestrator(stack, 'Stage', {
      storage,
      destinationBucket: bucket,
      destinationPrefix: '',
      inventoryRetrieval: new InventoryRetrieval(inputs, 'Inventory', {
        storage, vaultArns: VAULTS, destinationPrefix: '', partitionSizeBytes: 40 * TiB, maxArchiveSizeBytes: 5 * TiB,
      }).stateMachine,
      initiateRetrieval: new InitiateRetrieval(inputs, 'Initiate', { storage, vaultArns: VAULTS, dailyQuotaBytes: 100 * TiB }).stateMachine,
      downloadWindowExtension: new DownloadWindowExtension(inputs, 'Window', { storage, vaultArns: VAULTS, dailyQuotaBytes: 100 * TiB }),
      storageClass: DestinationStorageClass.DEEP_ARCHIVE,
      retrievalTier: RetrievalTier.BULK,
      dailyQuotaBytes: 100 * TiB,
    });
  },
};

describe.each(Object.keys(stages))('%s used on its own', (name) => {
  test('every log group it creates is encrypted with the storage key and has a retention', () => {
    const p = parts();
    const stage = stages[name](p);
    const template = Template.fromStack(p.stack);
    const keyId = p.stack.getLogicalId(p.storage.encryptionKey!.node.defaultChild as kms.CfnKey);
    const ownIds = new Set(stage.node.findAll().map((c) => c.node.defaultChild ?? c).filter((c: any) => c.cfnResourceType !== undefined)
      .map((c: any) => p.stack.getLogicalId(c)));
    const groups = Object.entries(template.findResources('AWS::Logs::LogGroup')).filter(([id]) => ownIds.has(id));
    expect(groups.length).toBeGreaterThan(0);
    for (const [id, group] of groups) {
      expect({ id, key: group.Properties.KmsKeyId }).toEqual({ id, key: { 'Fn::GetAtt': [keyId, 'Arn'] } });
      expect({ id, retention: group.Properties.RetentionInDays }).toEqual({ id, retention: expect.any(Number) });
    }
  });
});

test('GlacierVaultToS3Transfer refuses enableDecommissioning without allowedVaultNames before it builds anything', () => {
  const stack = new Stack(new App(), 'Consumer', { env: { account: '111122223333', region: 'eu-west-1' } });
  const destinationBucket = s3.Bucket.fromBucketName(stack, 'Destination', 'my-archive-bucket');
  expect(() => new GlacierVaultToS3Transfer(stack, 'Transfer', { destinationBucket, enableDecommissioning: true }))
    .toThrow('enableDecommissioning requires allowedVaultNames');
  expect(stack.node.findChild('Transfer').node.children).toEqual([]);
});
