/**
 * One behaviour, two engines: writes the shared cross-engine cases and the Lambda engine's outputs
 * for them, for glue/spark_test_cross_engine.py to run through the Spark engine and compare byte for
 * byte (partition files, skipped, errors) and field for field (summary, except `engine`).
 *
 *   tsx test/cross-engine/lambda-engine-outputs.ts OUTDIR
 *
 * OUTDIR/cases.json lists the cases; OUTDIR/<case>/ holds the inventory (and naming override CSV)
 * and lambda/<run>/... the files processInventory wrote, plus lambda/<run>/inventory_summary.json.
 * Inputs come from the shared fixtures: naming conformance and hostile descriptions (every one in
 * the JSON case; those that fit on one CSV line in the CSV cases), the CSV line conformance cases
 * (unparseable rows, repeated ids), overrides, kept keys of a resume, archives above maxArchiveSize, several partitions
 * and files, an empty file, a header-only file and a file of another format.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';
import { keyForArchive, parseNamingOverrides } from '../../src/core/archive-naming';
import { csvField } from '../../src/core/partitioning';
import { processInventory } from '../../src/handlers/inventory-retrieval/inventory-engine';

const ROOT = path.join(__dirname, '..', '..');
const fixture = (...p: string[]) => JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', ...p), 'utf8'));
const HEADER = 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n';
const RUN = 'run-x';

interface Archive { archiveId: string; description: string; creationDate: string; size: number }
interface Case {
  name: string;
  prefix: string;
  partitionSize: number;
  maxArchiveSize: number;
  rowsPerFile: number;
  format: 'csv' | 'json';
  /** The inventory file as written (for hand-made files). */
  text?: string;
  archives?: Archive[];
  overrides?: Record<string, string>;
  /** Resume: ArchiveId → key of archives already downloaded (they keep it). */
  keptKeys?: Record<string, string>;
}

function treeHash(i: number): string {
  return (i.toString(16).padStart(8, '0') + 'ab').repeat(7).slice(0, 64);
}

/** Glacier's CSV dialect: quote a description holding , or ", each " written \". */
function glacierDescription(d: string): string {
  return /[",]/.test(d) ? `"${d.replace(/"/g, '\\"')}"` : d;
}

function fitsOneLine(d: string): boolean {
  return !/[\r\n]/.test(d) && !/^\s|\s$/.test(d) && !/[\ud800-\udfff]/.test(d.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
}

function csvOf(archives: Archive[]): string {
  return HEADER + archives.map((a, i) => `${a.archiveId},${glacierDescription(a.description)},${a.creationDate},${a.size},${treeHash(i)}\n`).join('');
}

function jsonOf(archives: unknown[]): string {
  return JSON.stringify({ VaultARN: 'arn:aws:glacier:eu-west-1:111122223333:vaults/v', InventoryDate: '2026-01-01T00:00:00Z', ArchiveList: archives });
}

const naming = fixture('naming-conformance.json');
const hostile = fixture('hostile', 'descriptions.json');
const lines = fixture('inventory', 'csv-lines-conformance.json');

/** Naming and hostile descriptions as archives, sized to spread over partitions and the max size. */
function describedArchives(): Archive[] {
  const out: Archive[] = [];
  naming.cases.forEach((c: any, i: number) => out.push({
    archiveId: c.archiveId, description: c.description, creationDate: c.creationDate, size: (i * 7919) % 5000,
  }));
  hostile.cases.forEach((c: any, i: number) => out.push({
    archiveId: `hostile-${String(i).padStart(3, '0')}`, description: c.description, creationDate: `2019-0${1 + (i % 9)}-01T00:00:0${i % 10}Z`, size: (i * 104729) % 6000,
  }));
  naming.duplicateGroups.forEach((g: any, j: number) => g.records.forEach((r: any) => out.push({
    archiveId: `${r.archiveId}-g${j}`, description: r.description, creationDate: r.creationDate, size: 10,
  })));
  return out;
}

function overridesOf(): Record<string, string> {
  const o: Record<string, string> = {};
  for (const c of naming.cases) if (c.override !== undefined && fitsOneLine(c.override)) o[c.archiveId] = c.override;
  o['hostile-003'] = 'renamed by override/file.bin';
  return o;
}

/**
 * Kept keys of a resume: the newest archive of every duplicate group kept at the group's key (the
 * older ones get the suffix), one archive kept at the key another archive's override now gives it,
 * one kept at a key nobody else has.
 */
function keptKeysOf(archives: Archive[], prefix: string, overrides: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  naming.duplicateGroups.forEach((g: any, j: number) => {
    const newest = [...g.records].sort((a: any, b: any) => (a.creationDate < b.creationDate ? 1 : -1))[0];
    const a = archives.find((x) => x.archiveId === `${newest.archiveId}-g${j}`)!;
    kept[a.archiveId] = keyForArchive(a, { prefix }).key;
  });
  kept['hostile-005'] = `${prefix}${overrides['hostile-003']}`;
  kept['hostile-007'] = `${prefix}kept, "elsewhere"/file.bin`;
  return kept;
}

function cases(): Case[] {
  const described = describedArchives();
  const base = { partitionSize: 20_000, maxArchiveSize: 4_500, rowsPerFile: 7 };
  const lineCases = lines.cases.filter((c: any) => !c.firstLine);
  const badRows = HEADER + lineCases.map((c: any) => `${c.line}\n`).join('')
    + `${lineCases[0].line}\n` // a repeated id, again
    + '\n\n   \n' + 'x'.repeat(70_000) + '\nlast,row,without,newline,x';
  return [
    { ...base, name: 'csv-described', prefix: '', format: 'csv', archives: described.filter((a) => fitsOneLine(a.description)), overrides: overridesOf() },
    {
      ...base,
      name: 'csv-resume-kept-keys',
      prefix: '',
      format: 'csv',
      archives: described.filter((a) => fitsOneLine(a.description)),
      overrides: overridesOf(),
      keptKeys: keptKeysOf(described, '', overridesOf()),
    },
    { ...base, name: 'csv-described-prefix', prefix: 'restored/', format: 'csv', archives: described.filter((a) => fitsOneLine(a.description)), rowsPerFile: 1000 },
    { ...base, name: 'json-described', prefix: 'vault-a-', format: 'json', archives: described, overrides: overridesOf() },
    { ...base, name: 'csv-bad-rows', prefix: '', format: 'csv', text: badRows, partitionSize: 1 },
    {
      ...base,
      name: 'json-bad-elements',
      prefix: '',
      format: 'json',
      text: jsonOf([
        { ArchiveId: 'ok-1', ArchiveDescription: 'a.txt', CreationDate: '2020-01-01T00:00:00Z', Size: 5, SHA256TreeHash: treeHash(1).toUpperCase() },
        'not an object', null, [1, 2],
        { ArchiveId: '', ArchiveDescription: 'x', CreationDate: '2020-01-01T00:00:00Z', Size: 1, SHA256TreeHash: treeHash(2) },
        { ArchiveId: 'no-date', ArchiveDescription: 'x', Size: 1, SHA256TreeHash: treeHash(2) },
        { ArchiveId: 'bad-size', ArchiveDescription: 'x', CreationDate: '2020-01-01T00:00:00Z', Size: -3, SHA256TreeHash: treeHash(2) },
        { ArchiveId: 'str-size', ArchiveDescription: 'y', CreationDate: '2020-01-01T00:00:00Z', Size: '17', SHA256TreeHash: treeHash(3) },
        { ArchiveId: 'num-desc', ArchiveDescription: 5, CreationDate: '2020-01-01T00:00:00Z', Size: 1, SHA256TreeHash: treeHash(2) },
        { ArchiveId: 'no-desc', CreationDate: '2020-01-01T00:00:00Z', Size: 1, SHA256TreeHash: treeHash(4) },
        { ArchiveId: 'ok-1', ArchiveDescription: 'again', CreationDate: '2020-01-01T00:00:00Z', Size: 5, SHA256TreeHash: treeHash(1) },
        { ArchiveId: 'big', ArchiveDescription: 'big.bin', CreationDate: '2021-01-01T00:00:00Z', Size: 9_000, SHA256TreeHash: treeHash(5) },
      ]),
    },
    { ...base, name: 'empty-file', prefix: '', format: 'csv', text: '' },
    { ...base, name: 'header-only', prefix: '', format: 'csv', text: HEADER },
    { ...base, name: 'no-header-first-row-is-data', prefix: '', format: 'csv', text: csvOf(described.slice(0, 5)).slice(HEADER.length) },
    { ...base, name: 'another-format', prefix: '', format: 'csv', text: 'this is not an inventory\nat all\n' },
  ];
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: tsx test/cross-engine/lambda-engine-outputs.ts OUTDIR');
  rmSync(out, { recursive: true, force: true });
  const manifest = [];
  for (const c of cases()) {
    const dir = path.join(out, c.name);
    mkdirSync(dir, { recursive: true });
    const text = c.text ?? (c.format === 'json' ? jsonOf(c.archives!.map((a, i) => ({
      ArchiveId: a.archiveId, ArchiveDescription: a.description, CreationDate: a.creationDate, Size: a.size, SHA256TreeHash: treeHash(i),
    }))) : csvOf(c.archives!));
    const inventory = path.join(dir, c.format === 'json' ? 'inventory.json' : 'inventory.csv');
    writeFileSync(inventory, text, 'utf8');
    let overridesFile = '';
    let overrides = new Map<string, string>();
    if (c.overrides) {
      overridesFile = path.join(dir, 'naming_override.csv');
      writeFileSync(overridesFile, 'GlacierArchiveID,FileName\n' + Object.entries(c.overrides).map(([id, n]) => `${csvField(id)},${csvField(n)}\n`).join(''), 'utf8');
      overrides = await parseNamingOverrides(readFileSync(overridesFile));
    }
    let keptKeysFile = '';
    const keptKeys = new Map(Object.entries(c.keptKeys ?? {}));
    if (c.keptKeys) {
      keptKeysFile = path.join(dir, 'kept_keys.csv');
      writeFileSync(keptKeysFile, 'ArchiveId,ObjectKey\n' + [...keptKeys].map(([id, k]) => `${csvField(id)},${csvField(k)}\n`).join(''), 'utf8');
    }
    const { summary } = await processInventory([readFileSync(inventory)], {
      runId: RUN,
      prefix: c.prefix,
      partitionSizeBytes: c.partitionSize,
      maxArchiveSizeBytes: c.maxArchiveSize,
      rowsPerFile: c.rowsPerFile,
      overrides,
      keptKeys,
    }, async (key, body) => {
      const file = path.join(dir, 'lambda', key);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, body);
    });
    writeFileSync(path.join(dir, 'lambda', RUN, 'inventory_summary.json'), JSON.stringify(summary));
    manifest.push({
      name: c.name,
      inventory,
      overrides: overridesFile,
      keptKeys: keptKeysFile,
      runId: RUN,
      prefix: c.prefix,
      partitionSize: c.partitionSize,
      maxArchiveSize: c.maxArchiveSize,
      rowsPerFile: c.rowsPerFile,
      lambda: path.join(dir, 'lambda'),
      summary,
    });
  }
  writeFileSync(path.join(out, 'cases.json'), JSON.stringify(manifest, null, 1));
  console.log(`cross-engine: ${manifest.length} cases written to ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
