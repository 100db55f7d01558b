import * as logs from 'aws-cdk-lib/aws-logs';
import type { TransferStageProps } from '../stage-props';

/** The log retention a stage uses: its `logRetention`, or the documented default. */
export function stageLogRetention(props: TransferStageProps): logs.RetentionDays {
  return props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
}
