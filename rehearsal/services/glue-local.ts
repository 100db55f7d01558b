import { spawn } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { AslObject } from '../../src/asl/definitions';
import { withInventoryEngine } from '../../src/constructs/internal/inventory-engine';
import { InventoryEnv } from '../../src/contract/environment';
import { InventoryEngine as InventoryEngineOption } from '../../src/core/transfer-options';
import type { AwsSdkHandler } from '../sfn/runner';

/*
 * `--engine glue`: InventoryRetrieval's Glue branch against a local run of the SAME job
 * (glue/local_run.py over glue/inventory_spark.py, the pinned PySpark of `npx projen spark:install`).
 * The state machine's glue:startJobRun copies the inventory (and the naming override) out of the S3
 * fake, starts the local Spark run and returns its id; glue:getJobRun answers RUNNING until it ends,
 * then copies every output file into the inventory bucket and answers SUCCEEDED (or FAILED with
 * the run's last error lines). While Spark runs the harness counts as busy, so the rehearsal clock
 * does not jump past the job. Everything else of the pipeline runs as usual.
 */

export type InventoryEngine = 'lambda' | 'glue';

const ROOT = path.join(__dirname, '..', '..');
const PYTHON = path.join(ROOT, '.venv-spark', 'bin', 'python');

/** The engine the rehearsal forces (REHEARSAL_INVENTORY_ENGINE, set by `--engine`). */
export function inventoryEngine(): InventoryEngine {
  return process.env.REHEARSAL_INVENTORY_ENGINE === 'glue' ? 'glue' : 'lambda';
}

/**
 * The definition with ChooseEngine sending every inventory to Glue when the engine is `glue`: what
 * the construct deploys with `inventoryEngine: InventoryEngine.GLUE`.
 */
export function withRehearsalEngine(definition: AslObject): AslObject {
  return inventoryEngine() === 'glue' ? withInventoryEngine(definition, InventoryEngineOption.GLUE, 0) : definition;
}

interface LocalRun {
  state: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  error?: string;
}

async function download(s3: S3Client, bucket: string, key: string, file: string): Promise<void> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  writeFileSync(file, Buffer.from(await out.Body!.transformToByteArray()));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** The `glue` service of the state machine runtime; `busy` brackets each local Spark run. */
export function localGlue(s3: S3Client, bucket: string, busy: { enter(): void; leave(): void }): AwsSdkHandler {
  const runs = new Map<string, LocalRun>();
  let next = 0;
  return async (action, params) => {
    if (action === 'getJobRun') {
      const run = runs.get(params.RunId);
      if (!run) throw Object.assign(new Error(`no job run ${params.RunId}`), { name: 'Glue.EntityNotFoundException' });
      return { JobRun: { Id: params.RunId, JobRunState: run.state, ...(run.error && { ErrorMessage: run.error }) } };
    }
    if (action !== 'startJobRun') throw Object.assign(new Error(`Glue ${action} is not rehearsed`), { name: 'Glue.InvalidInputException' });
    const args: Record<string, string> = params.Arguments ?? {};
    const id = `jr_local_${++next}`;
    const work = mkdtempSync(path.join(tmpdir(), 'glue-local-'));
    const inventory = path.join(work, 'inventory');
    await download(s3, bucket, args['--inventory_key'], inventory);
    const argv = [path.join(ROOT, 'glue', 'local_run.py'), '--inventory', inventory, '--output', path.join(work, 'out'),
      '--run_id', args['--run_id'],
      '--destination_prefix', process.env[InventoryEnv.DESTINATION_PREFIX] ?? '',
      '--partition_size', process.env[InventoryEnv.PARTITION_SIZE]!,
      '--max_archive_size', process.env[InventoryEnv.MAX_ARCHIVE_SIZE]!];
    if (process.env[InventoryEnv.ROWS_PER_FILE]) argv.push('--partition_rows_per_file', process.env[InventoryEnv.ROWS_PER_FILE]!);
    if (args['--naming_override_key']) {
      const overrides = path.join(work, 'naming_override.csv');
      await download(s3, bucket, args['--naming_override_key'], overrides);
      argv.push('--naming_override_key', overrides);
    }
    if (args['--kept_keys_key']) {
      const kept = path.join(work, 'kept_keys.csv');
      await download(s3, bucket, args['--kept_keys_key'], kept);
      argv.push('--kept_keys_key', kept);
    }
    const run: LocalRun = { state: 'RUNNING' };
    runs.set(id, run);
    busy.enter();
    const child = spawn(PYTHON, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    });
    child.on('error', (e) => {
      stderr += String(e);
    });
    child.on('close', (code) => {
      void (async () => {
        try {
          if (code !== 0) throw new Error(`local Spark run exited with ${code}: ${stderr.split('\n').filter((l) => !/WARN/.test(l)).slice(-5).join(' | ')}`);
          const out = path.join(work, 'out');
          for (const file of filesUnder(out)) {
            const key = path.relative(out, file).split(path.sep).join('/');
            await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file) }));
          }
          run.state = 'SUCCEEDED';
        } catch (e) {
          run.state = 'FAILED';
          run.error = (e as Error).message;
        } finally {
          rmSync(work, { recursive: true, force: true });
          busy.leave();
        }
      })();
    });
    mkdirSync(path.join(work, 'out'), { recursive: true });
    return { JobRunId: id };
  };
}
