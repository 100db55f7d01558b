import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';

/**
 * Writes a large text object to S3 line by line (or piece by piece) without holding it in memory: 8 MiB multipart
 * parts, or one PutObject when the whole object is smaller. Aborts its upload on failure.
 */
export class TextObjectWriter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private uploadId?: string;
  private readonly parts: Array<{ PartNumber: number; ETag: string; ChecksumSHA256?: string }> = [];
  public lines = 0;

  constructor(
    private readonly s3: S3Client,
    public readonly bucket: string,
    public readonly key: string,
    private readonly contentType = 'text/csv; charset=utf-8',
    private readonly partSize = 8 * 1024 * 1024,
  ) {}

  public async write(line: string): Promise<void> {
    this.lines++;
    await this.writeBytes(Buffer.from(`${line}\n`, 'utf8'));
  }

  /** Appends raw bytes (a piece of a streamed body); at most one part is held in memory. */
  public async writeBytes(bytes: Uint8Array): Promise<void> {
    this.chunks.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.buffered += bytes.byteLength;
    if (this.buffered >= this.partSize) await this.flushPart();
  }

  private async flushPart(): Promise<void> {
    const body = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    if (!this.uploadId) {
      const created = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: this.contentType, ChecksumAlgorithm: 'SHA256' }));
      this.uploadId = created.UploadId!;
    }
    const PartNumber = this.parts.length + 1;
    const out = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber, Body: body, ChecksumAlgorithm: 'SHA256' }));
    this.parts.push({ PartNumber, ETag: out.ETag!, ChecksumSHA256: out.ChecksumSHA256 });
  }

  public async close(): Promise<void> {
    if (!this.uploadId) {
      await this.s3.send(new PutObjectCommand({
        Bucket: this.bucket, Key: this.key, Body: Buffer.concat(this.chunks), ContentType: this.contentType,
      }));
      return;
    }
    if (this.buffered > 0) await this.flushPart();
    await this.s3.send(new CompleteMultipartUploadCommand({
      Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts },
    }));
  }

  public async abort(): Promise<void> {
    if (!this.uploadId) return;
    await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId })).catch(() => undefined);
  }
}

/** RFC 4180 field. */
export function csvField(value: unknown): string {
  const s = value === undefined || value === null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * A description field in Glacier's inventory dialect (what src/core/inventory.ts reads): quoted
 * when it holds a comma or quote, every `"` written as `\"`, backslashes not doubled. Line breaks
 * cannot occur in Glacier descriptions (printable ASCII) and are replaced by spaces.
 */
export function glacierDescriptionField(value: string | undefined): string {
  const s = (value ?? '').replace(/[\r\n]/g, ' ');
  return /[",]/.test(s) ? `"${s.replace(/"/g, '\\"')}"` : s;
}
