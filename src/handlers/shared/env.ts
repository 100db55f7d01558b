/*
 * The one reader of the environment the constructs give the handlers. A bad value fails the
 * invocation with the variable's name, what was expected and what was found, so a misconfigured
 * function says so on its first call instead of misbehaving later.
 */

/** Reads a required environment variable, failing with its name when it is missing or empty. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required`);
  return value;
}

/** Reads an optional environment variable: its value, or `undefined` when it is unset or empty. */
export function optionalEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Reads a numeric environment variable: `fallback` when it is unset or empty (pass NaN for a
 * required one), otherwise a finite number that `check` accepts; `expected` describes the accepted
 * values in the error.
 */
export function numberEnv(
  name: string,
  fallback: number,
  check: (value: number) => boolean = () => true,
  expected = 'a number',
): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || !check(value)) {
    throw new Error(`environment variable ${name} must be ${expected}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** A whole number above zero (and safe: no precision lost). */
export const isPositiveInteger = (value: number): boolean => Number.isSafeInteger(value) && value > 0;
