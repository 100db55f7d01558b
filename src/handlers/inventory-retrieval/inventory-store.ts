import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { INVENTORY_SK, runPk } from '../../contract/keys';
import { InventoryStatus } from '../shared/schema';

/**
 * The run's inventory record in the transfer table (`pk = run#<runId>`, `sk = inventory`): which
 * Glacier job produced the inventory and whether it is downloaded. The state machine reads it
 * (GetItem) to skip retrieval when a resumed run already has its inventory.
 */
export interface InventoryRecord {
  readonly runId: string;
  readonly vaultName?: string;
  readonly inventoryStatus?: InventoryStatus;
  readonly jobId?: string;
  readonly initiatedAt?: string;
  /**
   * Set right before InitiateJob (ISO-8601) with the vault, cleared ('') when the job id is
   * recorded: still set means the id of that request may never have been recorded, and a retry
   * searches ListJobs for the job first.
   */
  readonly requestingAt?: string;
  readonly requestingVault?: string;
  readonly uploadId?: string;
  readonly inventoryKey?: string;
  readonly inventorySize?: number;
  readonly inventoryFormat?: string;
  readonly source?: 'glacier' | 'provided';
}

export class InventoryStore {
  public constructor(private readonly ddb: DynamoDBDocumentClient, private readonly tableName: string) {}

  public async get(runId: string): Promise<InventoryRecord | undefined> {
    const out = await this.ddb.send(new GetCommand({ TableName: this.tableName, Key: { pk: runPk(runId), sk: INVENTORY_SK }, ConsistentRead: true }));
    return out.Item as InventoryRecord | undefined;
  }

  /** Sets the given attributes (creating the record when needed). */
  public async update(runId: string, attributes: Omit<Partial<InventoryRecord>, 'runId'>): Promise<void> {
    const entries = Object.entries({ ...attributes, runId }).filter(([, v]) => v !== undefined);
    await this.ddb.send(new UpdateCommand({
      TableName: this.tableName,
      Key: { pk: runPk(runId), sk: INVENTORY_SK },
      UpdateExpression: `SET ${entries.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#a${i}`, k])),
      ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v])),
    }));
  }
}
