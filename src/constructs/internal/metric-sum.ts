import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/**
 * The sum of several metrics as one line. Each term is FILL(…, 0): a queue or function with no
 * datapoint in a period would otherwise drop the whole period from the sum. The ids (the keys of
 * `terms`) must differ between sums drawn on one graph.
 */
export function metricSum(
  label: string,
  terms: Record<string, cloudwatch.IMetric>,
  props?: cloudwatch.MathExpressionOptions,
): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: Object.keys(terms).map((id) => `FILL(${id}, 0)`).join(' + '),
    usingMetrics: terms,
    label,
    ...props,
  });
}
