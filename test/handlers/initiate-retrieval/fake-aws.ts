/*
 * In-memory stand-ins behind aws-sdk-client-mock for the request-stage tests (DynamoDB and
 * Glacier: test/doubles/): an S3 bucket that assembles multipart uploads.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

const meta = { httpStatusCode: 200, requestId: 'REQ', attempts: 1, totalRetryDelay: 0 };

export const silentLogger = (): Logger => new Logger({ serviceName: 'test', logLevel: 'SILENT' });

/** S3 PutObject and multipart uploads into memory; tracks the largest part seen. */
export class FakeS3 {
  public readonly mock = mockClient(S3Client);
  public readonly client = new S3Client({ region: 'eu-west-1' });
  public readonly objects = new Map<string, Buffer>();
  public readonly uploads = new Map<string, { key: string; parts: Map<number, Buffer> }>();
  public readonly aborted: string[] = [];
  public largestBody = 0;
  private next = 1;

  constructor() {
    const size = (body: unknown) => {
      const b = Buffer.isBuffer(body) ? body : Buffer.from(String(body));
      this.largestBody = Math.max(this.largestBody, b.length);
      return b;
    };
    this.mock.on(PutObjectCommand).callsFake(async (i) => {
      this.objects.set(i.Key, size(i.Body));
      return { ETag: '"e"', $metadata: meta };
    });
    this.mock.on(CreateMultipartUploadCommand).callsFake(async (i) => {
      const id = `upload-${this.next++}`;
      this.uploads.set(id, { key: i.Key, parts: new Map() });
      return { UploadId: id, $metadata: meta };
    });
    this.mock.on(UploadPartCommand).callsFake(async (i) => {
      this.uploads.get(i.UploadId)!.parts.set(i.PartNumber, size(i.Body));
      return { ETag: `"p${i.PartNumber}"`, ChecksumCRC32: 'AAAAAA==', $metadata: meta };
    });
    this.mock.on(CompleteMultipartUploadCommand).callsFake(async (i) => {
      const upload = this.uploads.get(i.UploadId)!;
      const numbers = (i.MultipartUpload.Parts as Array<{ PartNumber: number }>).map((p) => p.PartNumber);
      this.objects.set(upload.key, Buffer.concat(numbers.map((n) => upload.parts.get(n)!)));
      this.uploads.delete(i.UploadId);
      return { $metadata: meta };
    });
    this.mock.on(AbortMultipartUploadCommand).callsFake(async (i) => {
      this.aborted.push(i.UploadId);
      this.uploads.delete(i.UploadId);
      return { $metadata: meta };
    });
  }
}
