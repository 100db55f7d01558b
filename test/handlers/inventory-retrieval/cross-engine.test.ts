import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { csvDescription, HEADER, RUN, treeHash } from './world';
import { processInventory } from '../../../src/handlers/inventory-retrieval/inventory-engine';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse } = require('csv-parse/sync');

/*
 * The Lambda engine against the Glue engine's rules (glue/partitioning.py, glue/archive_naming.py):
 * test/core/partitioning.test.ts and glue/test_partitioning.py each check their own module on the
 * shared fixture, but nothing ran the Lambda engine end to end against the Python code. Here the
 * same archives go through processInventory and through the driver steps of glue/inventory_job.py
 * (order → key_for_archive → skip → assign_unique_keys → PartitionAssigner → format_partition_row),
 * run by python3, and the partition files must be identical byte for byte.
 */

const ROOT = path.join(__dirname, '..', '..', '..');
const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'inventory', 'partitioning-conformance.json'), 'utf8'));

interface Archive { archiveId: string; description: string; creationDate: string; size: number; treeHash: string }
interface Case {
  name: string;
  prefix: string;
  partitionSize: number;
  rowsPerFile: number;
  maxArchiveSize: number;
  overrides: Record<string, string>;
  archives: Archive[];
}
type Slot = [string, number, number, boolean];
interface EngineOutput { files: Record<string, string>; slots: Slot[] }

const PYTHON = `
import json, sys
sys.path.insert(0, sys.argv[1])
from glue import archive_naming as naming, partitioning as parts
out = {}
for case in json.load(sys.stdin):
    prefix, run = case["prefix"], case["runId"]
    archives = sorted(case["archives"], key=lambda a: parts.order_key(a["creationDate"], a["archiveId"]))
    named = [(a, naming.key_for_archive(a["archiveId"], a["description"], prefix, case["overrides"].get(a["archiveId"]))) for a in archives]
    kept = [(a, k) for a, k in named if a["size"] <= case["maxArchiveSize"]]
    unique = naming.assign_unique_keys([{"archive_id": a["archiveId"], "creation_date": a["creationDate"], "key": k.key} for a, k in kept], prefix)
    assigner = parts.PartitionAssigner(case["partitionSize"], case["rowsPerFile"])
    files, slots, key = {}, [], None
    for (a, k), u in zip(kept, unique):
        s = assigner.next(a["size"])
        slots.append([a["archiveId"], s.partition, s.file, s.first_in_file])
        if s.first_in_file:
            key = parts.partition_file_key(run, s.partition, s.file)
            files[key] = parts.partition_csv_header()
        files[key] += parts.format_partition_row(a["archiveId"], a["creationDate"], a["size"], a["treeHash"], u.key, k.last_modified, a["description"])
    out[case["name"]] = {"files": files, "slots": slots}
print(json.dumps(out))
`;

function python(cases: Case[]): Record<string, EngineOutput> {
  const res = spawnSync('python3', ['-c', PYTHON, ROOT], { input: JSON.stringify(cases.map((c) => ({ ...c, runId: RUN }))), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`python3 failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

async function lambda(c: Case): Promise<EngineOutput> {
  const csv = HEADER + c.archives.map((a) => `${a.archiveId},${csvDescription(a.description)},${a.creationDate},${a.size},${a.treeHash}\n`).join('');
  const written = new Map<string, string>();
  const { summary } = await processInventory([Buffer.from(csv)], {
    runId: RUN,
    prefix: c.prefix,
    partitionSizeBytes: c.partitionSize,
    maxArchiveSizeBytes: c.maxArchiveSize,
    rowsPerFile: c.rowsPerFile,
    overrides: new Map(Object.entries(c.overrides)),
  }, async (key, body) => {
    written.set(key, body.toString('utf8'));
  });
  expect(summary.errorCount).toBe(0);
  const files: Record<string, string> = {};
  const slots: Slot[] = [];
  for (const key of summary.partitionFiles) {
    files[key] = written.get(key)!;
    const [, , partition, file] = key.split('/');
    (parse(files[key], { columns: true }) as Array<Record<string, string>>).forEach((row, i) => {
      slots.push([row.ArchiveId, Number(partition), Number(/part-(\d+)/.exec(file)![1]), i === 0]);
    });
  }
  return { files, slots };
}

const base = { prefix: '', maxArchiveSize: Number.MAX_SAFE_INTEGER, overrides: {} };

/** The fixture's partition cases: archives of these sizes, dated in input order. */
const partitionCases: Case[] = fixture.partitions.map((p: any): Case => ({
  ...base,
  name: `partitions: ${p.name}`,
  partitionSize: p.partitionSize,
  rowsPerFile: p.rowsPerFile,
  archives: p.sizes.map((size: number, i: number) => ({
    archiveId: `p${String(i).padStart(3, '0')}`, description: `f${i}.bin`, creationDate: `2020-01-01T00:00:${String(i).padStart(2, '0')}Z`, size, treeHash: treeHash(i),
  })),
}));

/** The fixture's order cases, one small archive each. */
const orderCases: Case[] = fixture.order.map((o: any): Case => ({
  ...base,
  name: `order: ${o.name}`,
  partitionSize: 1_000_000,
  rowsPerFile: 1000,
  archives: o.archives.map((a: any, i: number) => ({ ...a, description: `o${i}.txt`, size: 1, treeHash: treeHash(i) })),
}));

/** A bigger mixed case: duplicates (incl. a renamed key that is another's base key), quoting, oversize, overrides. */
function mixedCase(): Case {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const names = ['photo.jpg', 'docs/report, final.pdf', 'say "hi".txt', 'a/b/c.tar.gz', 'noext', 'x'.repeat(30)];
  const archives: Archive[] = Array.from({ length: 400 }, (_, i) => ({
    archiveId: `arch-${(i * 7919) % 4001}-${rnd(1000)}`,
    description: rnd(3) === 0 ? `unique/${i}.dat` : names[rnd(names.length)],
    creationDate: `201${rnd(10)}-0${1 + rnd(9)}-1${rnd(10)}T0${rnd(10)}:${10 + rnd(50)}:00${['', '.5', '.500', '.123456789'][rnd(4)]}Z`,
    size: rnd(20) === 0 ? 50_000 + rnd(1000) : rnd(3000),
    treeHash: treeHash(i),
  }));
  archives.push({ archiveId: 'squatter', description: 'photo (2015-01-01T000000Z 00000000).jpg', creationDate: '2012-01-01T00:00:00Z', size: 5, treeHash: treeHash(999) });
  return {
    name: 'mixed',
    prefix: 'vault/',
    partitionSize: 10_000,
    rowsPerFile: 3,
    maxArchiveSize: 50_000,
    overrides: { [archives[3].archiveId]: 'overridden/name.txt', [archives[4].archiveId]: 'photo.jpg' },
    archives,
  };
}

const cases: Case[] = [...partitionCases, ...orderCases, mixedCase()];
let pythonResults: Record<string, EngineOutput>;
beforeAll(() => {
  pythonResults = python(cases);
});

test.each(partitionCases.map((c, i) => [c.name, c, fixture.partitions[i].expected]))(
  'Lambda engine = glue/partitioning.py = fixture, %s', async (_name, c: any, expected: any) => {
    const ts = await lambda(c);
    expect(ts.slots.map((s) => s.slice(1))).toEqual(expected);
    expect(ts).toEqual(pythonResults[c.name]);
  });

test.each(orderCases.map((c, i) => [c.name, c, fixture.order[i].expected]))(
  'Lambda engine order = glue = fixture, %s', async (_name, c: any, expected: any) => {
    const ts = await lambda(c);
    expect(ts.slots.map((s) => s[0])).toEqual(expected);
    expect(ts).toEqual(pythonResults[c.name]);
  });

test('mixed inventory: the Lambda engine writes the same partition files as the Glue driver steps, byte for byte', async () => {
  const c = cases[cases.length - 1];
  const ts = await lambda(c);
  expect(ts.slots.length).toBeGreaterThan(300);
  expect(ts.slots.length).toBeLessThan(c.archives.length); // some are skipped
  expect(Object.keys(ts.files).length).toBeGreaterThan(50);
  expect(Object.values(ts.files).join('')).toMatch(/ \(\d{4}-\d\d-\d\dT\d{6}Z [0-9a-f]{8}\)/); // renames happened
  expect(Object.keys(ts.files)).toEqual(Object.keys(pythonResults.mixed.files));
  for (const key of Object.keys(ts.files)) expect([key, ts.files[key]]).toEqual([key, pythonResults.mixed.files[key]]);
});
