import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { metricSum } from '../../../src/constructs/internal/metric-sum';

const metric = (name: string) => new cloudwatch.Metric({ namespace: 'Test', metricName: name });

describe('metricSum', () => {
  test('adds every term, each filled with 0 so that a missing datapoint does not drop the period', () => {
    const sum = metricSum('Both', { a: metric('A'), queueB: metric('B') });
    expect(sum.expression).toBe('FILL(a, 0) + FILL(queueB, 0)');
    expect(Object.keys(sum.usingMetrics)).toEqual(['a', 'queueB']);
    expect((sum.usingMetrics.queueB as cloudwatch.Metric).metricName).toBe('B');
    expect(sum.label).toBe('Both');
  });

  test('the caller\'s options apply, and the caller\'s label wins', () => {
    const sum = metricSum('Default', { a: metric('A') }, { period: Duration.minutes(1), label: 'Mine' });
    expect(sum.expression).toBe('FILL(a, 0)');
    expect(sum.period.toMinutes()).toBe(1);
    expect(sum.label).toBe('Mine');
  });
});
