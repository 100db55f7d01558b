/**
 * Storage-class names as users see them in the S3 console (the runbooks offer these) and the S3 API
 * names they stand for. Shared by the runbook documents and the run-record handler.
 */
export const STORAGE_CLASS_DISPLAY_NAMES: Readonly<Record<string, string>> = {
  'S3 Glacier Deep Archive': 'DEEP_ARCHIVE',
  'S3 Glacier Flexible Retrieval': 'GLACIER',
  'S3 Glacier Instant Retrieval': 'GLACIER_IR',
  'S3 Intelligent-Tiering': 'INTELLIGENT_TIERING',
  'S3 One Zone-Infrequent Access': 'ONEZONE_IA',
  'S3 Standard': 'STANDARD',
  'S3 Standard-Infrequent Access': 'STANDARD_IA',
};

/** The Resume runbook's "keep what the run used" choice. */
export const KEEP_CURRENT = 'Keep current';

export const RETRIEVAL_TIERS = ['Bulk', 'Standard', 'Expedited'] as const;

/** Display name of an API storage class (for runbook defaults). */
export function storageClassDisplayName(apiName: string): string {
  const found = Object.entries(STORAGE_CLASS_DISPLAY_NAMES).find(([, api]) => api === apiName);
  if (!found) throw new Error(`unknown storage class ${apiName}`);
  return found[0];
}

/**
 * API storage class from a display name or an API name; `undefined` for '' or {@link KEEP_CURRENT}.
 * Throws on anything else.
 */
export function resolveStorageClass(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || value === KEEP_CURRENT) return undefined;
  if (STORAGE_CLASS_DISPLAY_NAMES[value]) return STORAGE_CLASS_DISPLAY_NAMES[value];
  if (Object.values(STORAGE_CLASS_DISPLAY_NAMES).includes(value)) return value;
  throw new Error(`unknown storage class ${JSON.stringify(value)}`);
}

/** Retrieval tier, `undefined` for '' or {@link KEEP_CURRENT}. */
export function resolveTier(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || value === KEEP_CURRENT) return undefined;
  if ((RETRIEVAL_TIERS as readonly string[]).includes(value)) return value;
  throw new Error(`unknown retrieval tier ${JSON.stringify(value)}`);
}
