import { templateOf } from './helpers';
import { ARCHIVE_ID_PLACEHOLDER, archiveStoryQuery, LOG_QUERY_FIELDS } from '../../src/constructs/internal/log-queries';

describe('saved Logs Insights queries', () => {
  const template = templateOf();
  const queries = Object.values(template.findResources('AWS::Logs::QueryDefinition')) as any[];
  const byName = (suffix: string) => queries.find((q) => q.Properties.Name.endsWith(suffix))!.Properties;
  const functionLogGroups = Object.values(template.findResources('AWS::Lambda::Function')).map((f: any) => f.Properties.LoggingConfig.LogGroup);

  test('two queries in the deployment\'s folder, each over every handler\'s log group', () => {
    expect(queries).toHaveLength(2);
    const dashboardUpdate = Object.values(template.findResources('AWS::Lambda::Function'))
      .map((f: any) => f.Properties.Environment?.Variables?.METRICS_NAMESPACE).find((ns) => ns);
    expect(functionLogGroups).toHaveLength(25);
    for (const q of queries) {
      expect(q.Properties.Name.startsWith(`${dashboardUpdate}/`)).toBe(true);
      expect(q.Properties.LogGroupNames).toHaveLength(functionLogGroups.length);
      expect(q.Properties.LogGroupNames).toEqual(expect.arrayContaining(functionLogGroups));
    }
  });

  test('errors by stage: ERROR lines counted per Powertools service (the runtime\'s own lines per log group)', () => {
    const q = byName('/Errors by stage').QueryString as string;
    expect(q).toContain(`filter ${LOG_QUERY_FIELDS.level} = "ERROR"`);
    expect(q).toMatch(/stats count\(\*\) as errors, .* by service, @log/);
    expect(q).toContain('sort errors desc');
  });

  test('archive story: every line about one archive id, oldest first, with the id to replace in the name', () => {
    const q = byName(`/Archive story (replace ${ARCHIVE_ID_PLACEHOLDER})`).QueryString as string;
    expect(q).toContain(`filter ${LOG_QUERY_FIELDS.archiveId} = "${ARCHIVE_ID_PLACEHOLDER}"`);
    expect(q).toContain('sort @timestamp asc');
    expect(q).toMatch(/fields @timestamp, service, level, message/);
  });

  test('an archive id that could break out of the filter is refused', () => {
    expect(archiveStoryQuery('abc_DEF-123').toString()).toContain('filter archiveId = "abc_DEF-123"');
    expect(() => archiveStoryQuery('x" or level = "INFO')).toThrow(/archiveId must be a Glacier archive id/);
  });
});
