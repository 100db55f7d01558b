import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CompletedPart,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

/** S3's smallest multipart part (all but the last). */
const MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * Writes a JSON array to S3 one element at a time, holding at most one part in memory: elements
 * are buffered until `partSize` bytes, then sent as a multipart-upload part. A list that never fills
 * a part is written with one PutObject. Call `finish()` (or `abort()` on error) exactly once.
 */
export class JsonArrayUpload {
  private readonly chunks: string[] = [];
  private buffered = 0;
  private count = 0;
  private uploadId: string | undefined;
  private readonly parts: CompletedPart[] = [];
  private totalBytes = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly partSize = 8 * 1024 * 1024,
  ) {
    if (partSize < MIN_PART_SIZE) throw new Error(`partSize must be at least ${MIN_PART_SIZE} bytes`);
    this.push('[');
  }

  /** Elements written so far. */
  public get length(): number {
    return this.count;
  }

  /** Bytes currently held in memory. */
  public get bufferedBytes(): number {
    return this.buffered;
  }

  public async add(element: unknown): Promise<void> {
    this.push(`${this.count > 0 ? ',' : ''}${JSON.stringify(element)}`);
    this.count++;
    if (this.buffered >= this.partSize) await this.flushPart();
  }

  /** Closes the array and stores the object; returns its size in bytes. */
  public async finish(): Promise<number> {
    this.push(']');
    if (this.uploadId === undefined) {
      const body = this.take();
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentType: 'application/json' }));
      return this.totalBytes;
    }
    await this.flushPart();
    await this.s3.send(new CompleteMultipartUploadCommand({
      Bucket: this.bucket,
      Key: this.key,
      UploadId: this.uploadId,
      MultipartUpload: { Parts: this.parts },
    }));
    return this.totalBytes;
  }

  /** Abandons the upload (no orphaned parts). Never throws. */
  public async abort(): Promise<void> {
    if (this.uploadId === undefined) return;
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }));
    } catch {
      // The bucket's lifecycle rule removes incomplete uploads after 7 days.
    }
  }

  private push(text: string): void {
    this.chunks.push(text);
    const bytes = Buffer.byteLength(text, 'utf8');
    this.buffered += bytes;
    this.totalBytes += bytes;
  }

  private take(): Buffer {
    const body = Buffer.from(this.chunks.join(''), 'utf8');
    this.chunks.length = 0;
    this.buffered = 0;
    return body;
  }

  private async flushPart(): Promise<void> {
    if (this.uploadId === undefined) {
      const { UploadId } = await this.s3.send(new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        ContentType: 'application/json',
        ChecksumAlgorithm: 'CRC32',
      }));
      if (!UploadId) throw new Error(`CreateMultipartUpload for s3://${this.bucket}/${this.key} returned no UploadId`);
      this.uploadId = UploadId;
    }
    const partNumber = this.parts.length + 1;
    const out = await this.s3.send(new UploadPartCommand({
      Bucket: this.bucket,
      Key: this.key,
      UploadId: this.uploadId,
      PartNumber: partNumber,
      Body: this.take(),
      ChecksumAlgorithm: 'CRC32',
    }));
    this.parts.push({ PartNumber: partNumber, ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32 });
  }
}
