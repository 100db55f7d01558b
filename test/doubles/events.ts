/*
 * The unit tests' one EventBridge, behind a mocked EventBridgeClient (every instance's send): rules
 * with their target ids, and the events put. As EventBridge does: RemoveTargets of a rule it does not
 * know is ResourceNotFoundException, at most 10 ids; ids the rule does not have are no failure;
 * under concurrent modification (`contended` calls) every id fails with
 * ConcurrentModificationException and stays. PutEvents takes at most 10 entries.
 */
import { EventBridgeClient, PutEventsCommand, PutEventsRequestEntry, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { awsError, Double } from './service';

export class FakeEventBridge extends Double {
  /** Target ids by rule name. */
  public readonly rules = new Map<string, Set<string>>();
  public readonly events: PutEventsRequestEntry[] = [];
  /** Number of RemoveTargets calls to fail entry by entry (another writer modifying the rule). */
  public contended = 0;

  public constructor() {
    super(EventBridgeClient);
    this.serve(RemoveTargetsCommand, (input) => {
      const targets = this.rules.get(input.Rule ?? '');
      if (!targets) throw awsError('ResourceNotFoundException', 400, `Rule ${input.Rule} does not exist on EventBus default.`);
      const ids = input.Ids ?? [];
      if (ids.length > 10) throw awsError('ValidationException', 400, 'Ids: member must have length less than or equal to 10');
      if (this.contended > 0) {
        this.contended--;
        const failed = ids.map((TargetId) => ({ TargetId, ErrorCode: 'ConcurrentModificationException', ErrorMessage: 'Too many requests modifying the rule' }));
        return { FailedEntryCount: failed.length, FailedEntries: failed };
      }
      for (const id of ids) targets.delete(id);
      return { FailedEntryCount: 0, FailedEntries: [] };
    });
    this.serve(PutEventsCommand, (input) => {
      const entries = input.Entries ?? [];
      if (entries.length > 10) throw awsError('ValidationException', 400, 'Entries: member must have length less than or equal to 10');
      this.events.push(...entries);
      return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `event-${this.events.length - entries.length + i}` })) };
    });
  }
}
