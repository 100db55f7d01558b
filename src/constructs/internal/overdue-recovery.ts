import { Duration, Token } from 'aws-cdk-lib';

/** The lost-notification recovery options of DownloadWindowExtension (and GlacierVaultToS3Transfer, which passes them through). */
export interface OverdueRecoveryProps {
  readonly archiveJobOverdueAfter?: { readonly expedited?: Duration; readonly standard?: Duration; readonly bulk?: Duration };
  readonly overdueJobRepollInterval?: Duration;
  readonly maxJobPollsPerCheck?: number;
}

/** The validated recovery settings, in the units the handler reads. */
export interface OverdueRecoverySettings {
  readonly overdueSeconds: { readonly expedited: number; readonly standard: number; readonly bulk: number };
  readonly repollSeconds: number;
  readonly maxPolls: number;
}

/**
 * Defaults and bounds of the recovery options, one place for both constructs: the errors name the
 * prop, which has the same name in either. The L3 calls it before building any child.
 */
export function overdueRecoverySettings(props: OverdueRecoveryProps): OverdueRecoverySettings {
  const overdue = props.archiveJobOverdueAfter ?? {};
  const overdueSeconds = {
    expedited: wholeSeconds(overdue.expedited ?? Duration.minutes(30), 'archiveJobOverdueAfter.expedited'),
    standard: wholeSeconds(overdue.standard ?? Duration.hours(6), 'archiveJobOverdueAfter.standard'),
    bulk: wholeSeconds(overdue.bulk ?? Duration.hours(12), 'archiveJobOverdueAfter.bulk'),
  };
  for (const [tier, seconds] of Object.entries(overdueSeconds)) {
    if (seconds < 60 || seconds >= 86_400) throw new Error(`archiveJobOverdueAfter.${tier} must be from 1 minute to less than 24 hours, got ${seconds} seconds`);
  }
  const repollSeconds = wholeSeconds(props.overdueJobRepollInterval ?? Duration.hours(1), 'overdueJobRepollInterval');
  if (repollSeconds < 60) throw new Error(`overdueJobRepollInterval must be at least 1 minute, got ${repollSeconds} seconds`);
  const maxPolls = props.maxJobPollsPerCheck ?? 500;
  if (!Number.isInteger(maxPolls) || maxPolls < 1 || maxPolls > 10_000) throw new Error(`maxJobPollsPerCheck must be an integer from 1 to 10000, got ${maxPolls}`);
  return { overdueSeconds, repollSeconds, maxPolls };
}

/** `duration` in seconds; an error naming `prop` unless it is a whole number of seconds. */
function wholeSeconds(duration: Duration, prop: string): number {
  const seconds = duration.toSeconds({ integral: false });
  if (Token.isUnresolved(seconds)) throw new Error(`${prop} must be a literal duration (it is checked at synth time)`);
  if (!Number.isInteger(seconds)) throw new Error(`${prop} must be a whole number of seconds, got ${duration.toHumanString()}`);
  return seconds;
}
