import { readdirSync, readFileSync } from 'fs';
import { join, relative } from 'path';
import { isPositiveInteger, numberEnv, optionalEnv, requireEnv } from '../../../src/handlers/shared/env';

const NAME = 'ENV_READER_TEST_VARIABLE';

afterEach(() => {
  delete process.env[NAME];
});

describe('requireEnv', () => {
  test('returns the value', () => {
    process.env[NAME] = 'table-a';
    expect(requireEnv(NAME)).toBe('table-a');
  });

  test.each([undefined, ''])('names the variable when it is %j', (value) => {
    if (value !== undefined) process.env[NAME] = value;
    expect(() => requireEnv(NAME)).toThrow(`environment variable ${NAME} is required`);
  });
});

describe('optionalEnv', () => {
  test('returns the value', () => {
    process.env[NAME] = 'prefix/';
    expect(optionalEnv(NAME)).toBe('prefix/');
  });

  test.each([undefined, ''])('is undefined when the variable is %j', (value) => {
    if (value !== undefined) process.env[NAME] = value;
    expect(optionalEnv(NAME)).toBeUndefined();
  });
});

describe('numberEnv', () => {
  test.each([undefined, ''])('falls back when the variable is %j', (value) => {
    if (value !== undefined) process.env[NAME] = value;
    expect(numberEnv(NAME, 42)).toBe(42);
  });

  test('reads the number', () => {
    process.env[NAME] = '2.5';
    expect(numberEnv(NAME, 42)).toBe(2.5);
  });

  test('a NaN fallback makes the variable required', () => {
    expect(() => numberEnv(NAME, NaN, isPositiveInteger, 'a positive whole number'))
      .toThrow(`environment variable ${NAME} must be a positive whole number, got undefined`);
  });

  test('names the variable, what was expected and what was found', () => {
    process.env[NAME] = 'ten';
    expect(() => numberEnv(NAME, 1)).toThrow(`environment variable ${NAME} must be a number, got "ten"`);
    process.env[NAME] = '0';
    expect(() => numberEnv(NAME, 1, isPositiveInteger, 'a positive integer')).toThrow(`environment variable ${NAME} must be a positive integer, got "0"`);
  });

  test('isPositiveInteger accepts whole numbers above zero that keep their precision', () => {
    expect([1, 7, Number.MAX_SAFE_INTEGER].every(isPositiveInteger)).toBe(true);
    expect([0, -1, 1.5, 2 ** 53, Infinity].some(isPositiveInteger)).toBe(false);
  });
});

test('no handler reads a variable the constructs set except through src/handlers/shared/env.ts', () => {
  const handlers = join(__dirname, '..', '..', '..', 'src', 'handlers');
  const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const offenders = files(handlers)
    .filter((file) => !file.endsWith(join('shared', 'env.ts')))
    .filter((file) => /process\.env\[/.test(readFileSync(file, 'utf8')))
    .map((file) => relative(handlers, file));
  expect(offenders).toEqual([]);
});
