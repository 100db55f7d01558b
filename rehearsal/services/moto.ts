import { ChildProcess, spawn } from 'child_process';
import { existsSync } from 'fs';
import { request } from 'http';
import { createServer } from 'net';
import { join } from 'path';
import { sleep } from './common';

/*
 * moto (https://github.com/getmoto/moto), an AWS emulator maintained outside this project, as a
 * local server: the rehearsal's second backend (`--services moto`). It is installed by
 * `npx projen rehearse:setup` into .venv-rehearsal/ from rehearsal/requirements.txt; the rehearsal
 * starts one `moto_server` on a free loopback port and stops it at the end. Nothing in src/ knows
 * about it: handlers only see AWS_ENDPOINT_URL_<SERVICE>.
 */

export const MOTO_VENV = join(__dirname, '..', '..', '.venv-rehearsal');

export interface MotoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${endpoint}/moto-api/`, { method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** Starts `moto_server` for `accountId` (every ARN and queue URL it makes carries that account). */
export async function startMotoServer(accountId: string): Promise<MotoServer> {
  const binary = join(MOTO_VENV, 'bin', 'moto_server');
  if (!existsSync(binary)) {
    throw new Error(`--services moto needs moto in ${MOTO_VENV} (not found: ${binary}); run \`npx projen rehearse:setup\` first`);
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // Through the venv's interpreter rather than the `moto_server` script: a script's first line names
  // the absolute path the venv was created at, so a moved or copied venv could not run it.
  const child: ChildProcess = spawn(join(MOTO_VENV, 'bin', 'python'), ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_ACCOUNT_ID: accountId },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', (e) => {
    // Could not start at all (no interpreter): reported below, not an unhandled 'error' event.
    stderr += String(e.message);
    exited = true;
  });
  const deadline = Date.now() + 30_000;
  while (!(await answers(endpoint))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start on ${endpoint}: ${stderr.trim() || 'no output'}`);
    }
    await sleep(100);
  }
  return {
    endpoint,
    stop: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(3000)]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}
