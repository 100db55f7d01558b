import * as fs from 'fs';
import * as path from 'path';
import type { RequestCountsFixture } from '../../rehearsal/request-counts';
import { ArchiveSizeSummary, REQUEST_MODEL, RequestKind, requestCounts } from '../../src/core/cost';

/**
 * The cost model's request counts against what the real pipeline did in a fault-free rehearsal
 * (test/fixtures/rehearsal/request-counts.json, refreshed with rehearsal/request-counts.ts; its
 * header says how). The rehearsal records every request its local services answered; what is not
 * the pipeline's is taken out here:
 * - `Harness` requests (the rehearsal's own clients: progress sampling, verification, the report);
 * - the inventory job's InitiateJob (the model counts archive retrievals);
 * - SQS receives, visibility changes and queue attributes: Lambda's event source polls every queue
 *   all the time (billed per request, but per hour, not per archive), the rehearsal's pollers
 *   poll on their own schedule; one receive per send is counted instead.
 *
 * Tolerances: the pipeline may not make more than MORE_THAN_MODEL of any kind (its cost then rose:
 * raise REQUEST_MODEL and say why), nor less than 1 / FEWER_THAN_MODEL (the model would overcharge:
 * lower it). DynamoDB units are counted per request (each item under 1 KiB written, 4 KiB read),
 * TransactWriteItems twice.
 */
const MORE_THAN_MODEL = 1.1;
const FEWER_THAN_MODEL = 2;

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'rehearsal', 'request-counts.json'), 'utf8')) as RequestCountsFixture;

/** Requests the pipeline made: a service's count minus the harness's own. */
function pipeline(service: string, ...operations: string[]): number {
  let n = 0;
  for (const op of operations) n += (fixture.requests[service]?.[op] ?? 0) - (fixture.requests.Harness?.[`${service}.${op}`] ?? 0);
  return n;
}

/** The rehearsal's counts by the model's kinds. */
function measuredRequests(): Record<RequestKind, number> {
  const sqsSends = pipeline('SQS', 'SendMessage', 'SendMessageBatch');
  return {
    glacierRetrievalRequests: pipeline('Glacier', 'InitiateJob') - fixture.recorded.inventoryJobs,
    s3PutClass: pipeline('S3', 'PutObject', 'CopyObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'ListObjectsV2', 'ListParts', 'ListMultipartUploads'),
    s3GetClass: pipeline('S3', 'GetObject', 'HeadObject', 'GetBucketLocation'),
    lambdaInvocations: pipeline('Lambda', 'Invoke'),
    stateTransitions: fixture.stateTransitions,
    // Sends and deletes as made, plus one receive per send.
    sqsRequests: 2 * sqsSends + pipeline('SQS', 'DeleteMessage', 'DeleteMessageBatch'),
    snsPublishes: pipeline('SNS', 'Publish'),
    dynamoWriteUnits: pipeline('DynamoDB', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem') + 2 * pipeline('DynamoDB', 'TransactWriteItems'),
    dynamoReadUnits: pipeline('DynamoDB', 'GetItem', 'Query', 'Scan', 'BatchGetItem'),
  };
}

describe('REQUEST_MODEL against a recorded rehearsal', () => {
  const summary = ArchiveSizeSummary.of(fixture.archiveSizes, fixture.recorded.chunkSizeBytes);
  const model = requestCounts(summary, fixture.recorded.virtualHours);
  const measured = measuredRequests();

  test('the fixture is a fault-free run of the real pipeline', () => {
    expect(fixture.recorded.faults).toBe('none');
    expect(fixture.archiveSizes).toHaveLength(fixture.recorded.archives);
    expect(summary.multipartCount).toBeGreaterThan(0);
    expect(summary.singlePutCount).toBeGreaterThan(0);
    expect(fixture.recorded.virtualHours).toBeGreaterThan(12);
  });

  test.each(Object.keys(REQUEST_MODEL) as RequestKind[])('%s: the pipeline makes no more than the model counts, and not far fewer', (kind) => {
    expect(measured[kind]).toBeGreaterThan(0);
    expect(measured[kind]).toBeLessThanOrEqual(model[kind] * MORE_THAN_MODEL);
    expect(measured[kind] * FEWER_THAN_MODEL).toBeGreaterThanOrEqual(model[kind]);
  });

  test('a pipeline that made one more transactional write per archive would fail', () => {
    // The same comparison on this run with one more TransactWriteItems (2 units) per archive.
    const more = measured.dynamoWriteUnits + 2 * fixture.recorded.archives;
    expect(more).toBeGreaterThan(model.dynamoWriteUnits * MORE_THAN_MODEL);
  });
});
