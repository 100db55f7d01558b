/**
 * Loads aws-local-stepfunctions. The package is `"type": "module"` with a CommonJS build under its
 * `require` export condition; TypeScript (module node16, CommonJS output) refuses a static import of
 * an ESM-typed package, so the CJS build is required and typed through an import type.
 */

type Interpreter = typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' } });

// eslint-disable-next-line @typescript-eslint/no-require-imports
const interpreter: Interpreter = require('aws-local-stepfunctions');

export const StateMachine = interpreter.StateMachine;
export type StateMachine = InstanceType<Interpreter['StateMachine']>;
export const ExecutionError = interpreter.ExecutionError;
export type ExecutionError = InstanceType<Interpreter['ExecutionError']>;
export const ExecutionAbortedError = interpreter.ExecutionAbortedError;
export type ExecutionAbortedError = InstanceType<Interpreter['ExecutionAbortedError']>;
