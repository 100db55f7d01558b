/**
 * Resume through the real InitiateArchiveRetrieval batch logic (virtual clock, DynamoDB and Glacier
 * faked in memory): a vault of 100,000 archives (10 TiB) whose first 90% (CreationDate order) are
 * already downloaded is resumed, batch after batch, exactly as the Distributed Map feeds it.
 *
 * bench/pacing.bench.ts already compares the pacing FORMULAS on 1 M archives / 100 TiB (including
 * a 90% resume through `simulatePacing`); this benchmark adds what that one cannot show: the
 * handler's own behaviour (idempotency reads, ledger reservation, release) on a resume. Measured:
 * virtual hours until the first new InitiateJob, and until the last, with a modelled Step Functions
 * overhead per batch; the reference's per-partition formula on the same inventory for comparison.
 *
 * Run alone: npx tsx bench/initiate-pacing.bench.ts
 */
import { PacingStrategy, simulatePacing, TiB } from './pacing-simulator';
import { initiateBatch } from '../src/handlers/initiate-retrieval/initiate-batch';
import { ArchiveStatus } from '../src/handlers/shared/schema';
import { batch, row, World } from '../test/handlers/initiate-retrieval/world';

const ARCHIVES = 100_000;
const ARCHIVE_BYTES = Math.floor((10 * TiB) / ARCHIVES);
const QUOTA = 100 * TiB;
const BATCH = 100;
/** Step Functions child execution + Lambda invoke per batch (modelled, virtual seconds). */
const BATCH_OVERHEAD_SECONDS = 0.5;

export async function run(): Promise<{ name: string; metrics: Record<string, number | string>; targets: Record<string, string> }> {
  const t0 = Date.now();
  const world = new World(QUOTA);
  const done = Math.floor(ARCHIVES * 0.9);
  try {
    for (let n = 0; n < done; n++) world.seedArchive(n, ArchiveStatus.DOWNLOADED, { jobId: `old-${n}` }, ARCHIVE_BYTES);
    const start = world.now;
    let firstRequestAt: number | undefined;
    let lastRequestAt = start;
    let batches = 0;
    let batchesBeforeFirst = 0;
    for (let from = 0; from < ARCHIVES; from += BATCH) {
      const rows = Array.from({ length: Math.min(BATCH, ARCHIVES - from) }, (_, i) => row(from + i, ARCHIVE_BYTES));
      for (;;) {
        world.now += BATCH_OVERHEAD_SECONDS * 1000;
        const before = world.glacier.calls.length;
        const result = await initiateBatch(world.deps({ concurrency: 20, requestsPerSecond: 100 }), batch(rows));
        batches++;
        if (world.glacier.calls.length > before) {
          firstRequestAt ??= world.now;
          lastRequestAt = world.now;
        } else if (firstRequestAt === undefined) {
          batchesBeforeFirst++;
        }
        if (result.waitSeconds === 0) break;
        world.now += result.waitSeconds * 1000;
      }
    }
    const requested = world.glacier.requestedArchives().length;
    const copied = new Uint8Array(ARCHIVES).fill(1, 0, done);
    const ref = simulatePacing({
      archiveSizes: new Float64Array(ARCHIVES).fill(ARCHIVE_BYTES),
      dailyQuota: QUOTA,
      batchSize: BATCH,
      requestRate: 100,
      alreadyCopied: copied,
      strategy: PacingStrategy.REFERENCE_PARTITIONS,
      partitionBytes: TiB,
    });
    const r2 = (n: number) => Math.round(n * 100) / 100;
    const hours = (ms: number) => ms / 3_600_000;
    return {
      name: 'initiate-pacing',
      metrics: {
        'resume 90% (handler): archives requested': requested,
        'resume 90% (handler): InitiateJob calls for downloaded archives': world.glacier.calls.filter((c) => c.archiveId !== undefined && Number(c.archiveId.slice(8)) < done).length,
        'resume 90% (handler): batches before the first request': batchesBeforeFirst,
        'resume 90% (handler): hours to first request': r2(hours((firstRequestAt ?? NaN) - start)),
        'resume 90% (handler): hours to last request': r2(hours(lastRequestAt - start)),
        'resume 90% (handler): ledger bytes / requested bytes': r2(world.ledgerBytes() / (requested * ARCHIVE_BYTES)),
        'resume 90% (reference formula, 1 TiB partitions): hours to first request': r2((ref.timeToFirstRequestSeconds ?? NaN) / 3600),
        'batches processed': batches,
        'wall seconds': r2((Date.now() - t0) / 1000),
      },
      targets: {
        'resume 90% (handler): archives requested': `>= ${ARCHIVES - done}`,
        'resume 90% (handler): InitiateJob calls for downloaded archives': '<= 0',
        'resume 90% (handler): hours to first request': '<= 0.5',
        'resume 90% (handler): ledger bytes / requested bytes': '<= 1',
      },
    };
  } finally {
    world.reset();
  }
}

if (require.main === module) {
  run().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
