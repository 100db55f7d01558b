import * as fs from 'fs';
import * as path from 'path';
import { InventoryRecord, parseInventoryCsv } from '../../src/core/inventory';

/** One line of test/fixtures/inventory/csv-lines-conformance.json (shared with glue/test_inventory_csv.py). */
interface LineCase {
  readonly name: string;
  readonly line: string;
  /** The line is the whole file (header and BOM handling are about the first line). */
  readonly firstLine?: boolean;
  readonly expected: null | { readonly error: true; readonly archiveId: string } | {
    readonly archiveId: string;
    readonly description: string;
    readonly creationDate: string;
    readonly size: number;
    readonly treeHash: string;
  };
}

const fixture = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'inventory', 'csv-lines-conformance.json'), 'utf8'),
) as { header: string; cases: LineCase[] };

async function collect(records: AsyncIterable<InventoryRecord>): Promise<InventoryRecord[]> {
  const out: InventoryRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

describe('Glacier CSV line conformance (shared with glue/test_inventory_csv.py)', () => {
  it('has cases of every kind', () => {
    expect(fixture.header).toBe('ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
    expect(fixture.cases.length).toBeGreaterThanOrEqual(80);
    const kinds = new Set(fixture.cases.map((c) => (c.expected === null ? 'none' : 'error' in c.expected ? 'error' : 'archive')));
    expect([...kinds].sort()).toEqual(['archive', 'error', 'none']);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const text = c.firstLine ? `${c.line}\n` : `${fixture.header}\n${c.line}\n`;
    const row = c.firstLine ? 1 : 2;
    // As bytes in one piece, and as a string cut in two in the middle of the line.
    const cut = text.length - Math.ceil(c.line.length / 2) - 1;
    for (const source of [[Buffer.from(text, 'utf8')], [text.slice(0, cut), text.slice(cut)]]) {
      const records = await collect(parseInventoryCsv(source));
      if (c.expected === null) {
        expect(records).toEqual([]);
      } else if ('error' in c.expected) {
        expect(records).toHaveLength(1);
        expect(records[0]).toMatchObject({ kind: 'error', row });
        expect((records[0] as { archiveId?: string }).archiveId ?? '').toBe(c.expected.archiveId);
      } else {
        expect(records).toEqual([{ kind: 'archive', row, ...c.expected }]);
      }
    }
  });
});
