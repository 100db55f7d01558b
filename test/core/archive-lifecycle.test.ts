import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { archivePk, runStatusKey } from '../../src/contract/keys';
import {
  ABSENT,
  ArchiveStatus,
  ArchiveTransition,
  checkTransition,
  COPY_SETTLE_MS,
  DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE,
  FromStatus,
  TRANSITIONS,
} from '../../src/core/archive-lifecycle';
import { transitionItem, transitionUpdate } from '../../src/handlers/shared/archive-transition';
import { FakeTable } from '../doubles/dynamodb';

const RUN = 'run-lifecycle';
const NOW = new Date('2026-12-03T12:00:00Z');
const ALL_FROM: FromStatus[] = [ABSENT, ...Object.values(ArchiveStatus)];
const ALL_TRANSITIONS = Object.values(ArchiveTransition);

/** Facts that satisfy every guard but the `from` statuses (a job-bound failure needs the bound reached and the copy settled). */
const SETTLED = { retrievalJobs: DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE, jobExpiresAt: NOW.getTime() - COPY_SETTLE_MS - 1 };
const guardFacts = (t: ArchiveTransition) => (TRANSITIONS[t].whenCopySettled ? SETTLED : { retrievalJobs: 0 });

/** Every (transition, from) pair, with whether the table allows it. */
const WALK = ALL_TRANSITIONS.flatMap((t) => ALL_FROM.map((from) => [t, from, TRANSITIONS[t].from.includes(from)] as const));

describe('archive transition table', () => {
  test('the walk covers every transition from every status (and from no item)', () => {
    expect(WALK).toHaveLength(ALL_TRANSITIONS.length * 7);
    expect(WALK.filter(([, , allowed]) => allowed).length).toBe(18);
  });

  test.each(WALK)('%s from %s: allowed=%s (guard)', (transition, from, allowed) => {
    const verdict = checkTransition(transition, { status: from, ...guardFacts(transition) }, { reason: 'a reason', now: NOW.getTime() });
    expect(verdict.allowed).toBe(allowed);
    if (verdict.allowed) {
      expect(verdict.to).toBe(TRANSITIONS[transition].to ?? from);
    } else {
      expect(verdict.refusal).toContain(`not allowed from ${from}`);
    }
  });

  test.each(WALK)('%s from %s: allowed=%s (conditional write on the table)', async (transition, from, allowed) => {
    const table = new FakeTable('t');
    try {
      const pk = archivePk(RUN, 'a1');
      const base = { pk, sk: 'archive', runId: RUN, archiveId: 'a1', failureReason: 'a reason' };
      if (from !== ABSENT) table.seed({ ...base, status: from, runStatus: runStatusKey(RUN, from), statusTime: 'earlier', ...guardFacts(transition) });
      const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
      const rule = TRANSITIONS[transition];
      const write = rule.from.includes(ABSENT)
        ? () => ddb.send(new PutCommand({ TableName: 't', ...transitionItem(transition, base, NOW) }))
        : () => ddb.send(new UpdateCommand({
          TableName: 't',
          Key: { pk, sk: 'archive' },
          ...transitionUpdate(transition, {
            runId: RUN, now: NOW, reason: 'a reason', currentStatus: from === ABSENT ? ArchiveStatus.PENDING : from,
          }),
        }));
      if (allowed) {
        await write();
        const item = table.get(pk, 'archive')!;
        const to = rule.to ?? from;
        expect(item.status).toBe(to);
        expect(item.runStatus).toBe(runStatusKey(RUN, to as ArchiveStatus));
        expect(item.statusTime).toBe(NOW.toISOString());
      } else {
        // Creations on an existing item fail attribute_not_exists(pk); updates fail their status condition.
        await expect(write()).rejects.toThrow('The conditional request failed');
        expect(table.get(pk, 'archive')?.statusTime).not.toBe(NOW.toISOString());
      }
    } finally {
      table.dynamo.mock.restore();
    }
  });

  test('failures and skips need a reason, in the guard and in the write builders', () => {
    const { FAIL, FAIL_AT_JOB_BOUND, CREATE_FAILED, CREATE_SKIPPED } = ArchiveTransition;
    const withReason = [FAIL, FAIL_AT_JOB_BOUND, CREATE_FAILED, CREATE_SKIPPED];
    for (const t of withReason) {
      const from = TRANSITIONS[t].from[0];
      expect(checkTransition(t, { status: from, ...guardFacts(t) }, { now: NOW.getTime() })).toEqual({ allowed: false, refusal: `${t} needs a reason` });
      expect(checkTransition(t, { status: from, ...guardFacts(t) }, { reason: '  ', now: NOW.getTime() }).allowed).toBe(false);
    }
    expect(() => transitionUpdate(ArchiveTransition.FAIL, { runId: RUN, now: NOW })).toThrow('fail needs a reason');
    expect(() => transitionItem(ArchiveTransition.CREATE_SKIPPED, { runId: RUN }, NOW)).toThrow('needs a reason');
  });

  test('transitions that start a retrieval job are refused at the per-archive bound, in the guard and on the table', async () => {
    for (const t of [ArchiveTransition.REQUEST, ArchiveTransition.ADOPT_JOB, ArchiveTransition.RE_REQUEST]) {
      const from = TRANSITIONS[t].from[0] as ArchiveStatus;
      expect(checkTransition(t, { status: from, retrievalJobs: DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE - 1 }).allowed).toBe(true);
      const refused = checkTransition(t, { status: from, retrievalJobs: DEFAULT_MAX_RETRIEVAL_JOBS_PER_ARCHIVE });
      expect(refused).toEqual({ allowed: false, refusal: expect.stringContaining('retrieval job bound reached: 3') });
      expect(checkTransition(t, { status: from, retrievalJobs: 4 }, { maxRetrievalJobs: 5 }).allowed).toBe(true);
    }
    const table = new FakeTable('t');
    try {
      const pk = archivePk(RUN, 'a2');
      table.seed({ pk, sk: 'archive', runId: RUN, status: 'staged', retrievalJobs: 1 });
      const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
      const reRequest = () => ddb.send(new UpdateCommand({
        TableName: 't',
        Key: { pk, sk: 'archive' },
        ...transitionUpdate(ArchiveTransition.RE_REQUEST, { runId: RUN, now: NOW, currentStatus: ArchiveStatus.STAGED, maxRetrievalJobs: 3 }),
      }));
      await reRequest();
      await reRequest();
      expect(table.get(pk, 'archive')!.retrievalJobs).toBe(3);
      await expect(reRequest()).rejects.toThrow('The conditional request failed');
      expect(table.get(pk, 'archive')).toMatchObject({ status: 'staged', retrievalJobs: 3 });
    } finally {
      table.dynamo.mock.restore();
    }
  });

  test('issue #16: a job-bound failure only once no copy of the last job can land, in the guard and on the table', async () => {
    const t = ArchiveTransition.FAIL_AT_JOB_BOUND;
    const now = NOW.getTime();
    const cases: Array<[string, Record<string, unknown>, boolean, string?]> = [
      ['below the bound', { ...SETTLED, retrievalJobs: 2 }, false, 'needs the retrieval job bound reached (2 of 3'],
      ['job not completed (no window yet)', { retrievalJobs: 3 }, false, 'has not completed'],
      ['window still open', { ...SETTLED, jobExpiresAt: now + 3600_000 }, false, 'may run until'],
      ['window closed, a copy started before may still run', { ...SETTLED, jobExpiresAt: now - COPY_SETTLE_MS }, false, 'may run until'],
      ['every part in, validation queued', { ...SETTLED, validationQueuedBy: 4 }, false, 'validation is queued'],
      ['settled', SETTLED, true],
    ];
    const table = new FakeTable('t');
    try {
      const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
      for (const [name, facts, allowed, why] of cases) {
        const verdict = checkTransition(t, {
          status: ArchiveStatus.STAGED,
          retrievalJobs: facts.retrievalJobs as number,
          jobExpiresAt: facts.jobExpiresAt as number | undefined,
          validationQueued: facts.validationQueuedBy !== undefined,
        }, { reason: 'bound', now });
        expect([name, verdict.allowed]).toEqual([name, allowed]);
        if (!verdict.allowed) expect(verdict.refusal).toContain(why);
        const pk = archivePk(RUN, `bound-${name}`);
        table.seed({ pk, sk: 'archive', runId: RUN, status: 'staged', runStatus: runStatusKey(RUN, ArchiveStatus.STAGED), ...facts });
        const update = transitionUpdate(t, { runId: RUN, now: NOW, reason: 'bound' });
        const write = () => ddb.send(new UpdateCommand({ TableName: 't', Key: { pk, sk: 'archive' }, ...update }));
        if (allowed) await write();
        else await expect(write()).rejects.toThrow('The conditional request failed');
        expect([name, table.get(pk, 'archive')!.status]).toEqual([name, allowed ? 'failed' : 'staged']);
      }
    } finally {
      table.dynamo.mock.restore();
    }
  });

  test('resume transitions reset the attempt counters and the reason', async () => {
    const table = new FakeTable('t');
    try {
      const pk = archivePk(RUN, 'a3');
      table.seed({
        pk,
        sk: 'archive',
        runId: RUN,
        status: 'failed',
        retrievalJobs: 3,
        downloadAttempts: 2,
        validationAttempts: 4,
        failureReason: 'denied',
        lastVerificationFailure: 'x',
        windowExtensions: 2,
      });
      const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
      await ddb.send(new UpdateCommand({ TableName: 't', Key: { pk, sk: 'archive' }, ...transitionUpdate(ArchiveTransition.RETRY_FAILED, { runId: RUN, now: NOW }) }));
      expect(table.get(pk, 'archive')).toEqual({ pk, sk: 'archive', runId: RUN, status: 'pending', runStatus: runStatusKey(RUN, ArchiveStatus.PENDING), statusTime: NOW.toISOString() });
    } finally {
      table.dynamo.mock.restore();
    }
  });
});

describe('one place for status writes', () => {
  const handlers = join(__dirname, '..', '..', 'src', 'handlers');
  const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

  test('no handler writes an archive status except through src/handlers/shared/archive-transition.ts', () => {
    const offenders: string[] = [];
    for (const file of files(handlers)) {
      if (file.endsWith(join('shared', 'archive-transition.ts'))) continue;
      const text = readFileSync(file, 'utf8');
      // Every status write moves the StatusIndex key with it: an update SETting it, or an item literal carrying it.
      if (/runStatus\s*=\s*:/.test(text) || /runStatus:\s*runStatusKey\(/.test(text)) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
