/** Helpers to classify and describe AWS SDK v3 errors without depending on every client's classes. */

interface AwsLikeError {
  readonly name?: string;
  readonly Code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly requestId?: string };
}

function asAws(err: unknown): AwsLikeError {
  return typeof err === 'object' && err !== null ? (err as AwsLikeError) : {};
}

/** The service error code (`name` in SDK v3, `Code` on some XML errors). */
export function errorName(err: unknown): string | undefined {
  const e = asAws(err);
  return e.name ?? e.Code;
}

export function httpStatus(err: unknown): number | undefined {
  return asAws(err).$metadata?.httpStatusCode;
}

export function isConditionalCheckFailed(err: unknown): boolean {
  return errorName(err) === 'ConditionalCheckFailedException';
}

/** A TransactWriteItems cancelled only because condition(s) did not hold (no conflict, throttling or validation error). */
export function isTransactionConditionFailed(err: unknown): boolean {
  if (errorName(err) !== 'TransactionCanceledException') return false;
  const reasons = (err as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
  return reasons.some((r) => r.Code === 'ConditionalCheckFailed')
    && reasons.every((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'None' || r.Code === undefined);
}

/** S3 403: wrong ExpectedBucketOwner, missing permission, bucket policy or KMS key policy. */
export function isAccessDenied(err: unknown): boolean {
  const name = errorName(err);
  return name === 'AccessDenied' || name === 'AccessDeniedException' || name === 'InvalidBucketOwner' || httpStatus(err) === 403;
}

export function isThrottlingOrServerError(err: unknown): boolean {
  const name = errorName(err) ?? '';
  const status = httpStatus(err) ?? 0;
  return status >= 500 || /Throttl|SlowDown|RequestLimitExceeded|ServiceUnavailable|InternalError/.test(name);
}

/** Compact, loggable description of an error (code, HTTP status, request id, message). */
export function describeError(err: unknown): Record<string, unknown> {
  const e = asAws(err);
  return {
    errorName: errorName(err) ?? 'Error',
    errorMessage: e.message ?? String(err),
    httpStatusCode: e.$metadata?.httpStatusCode,
    requestId: e.$metadata?.requestId,
  };
}
