/**
 * The version id S3 answered for an object, or `undefined` when the object has no version of its
 * own. S3 names the version of an object in an unversioned (or versioning-suspended) bucket
 * `"null"`, and some S3 implementations return that string from PutObject/CompleteMultipartUpload
 * even on a bucket that was never versioned (moto does). Passed back as `VersionId: "null"` it
 * addresses "the null version", which such implementations may refuse; recorded, it reads like a
 * real version. Every VersionId the handlers read goes through here.
 */
export function objectVersionId(versionId: string | undefined | null): string | undefined {
  return versionId === undefined || versionId === null || versionId === '' || versionId === 'null' ? undefined : versionId;
}
