#!/usr/bin/env node
/**
 * The `cdk-glacier-vault-to-s3` command line.
 *
 *   npx cdk-glacier-vault-to-s3 estimate --inventory inventory.csv [--tier Bulk] [--storage-class DEEP_ARCHIVE]
 *       [--daily-quota-tib 100] [--chunk-size-mib 1024] [--cross-region] [--format csv|json] [--json] [--html FILE]
 */
import { writeFileSync } from 'fs';
import { Command, Option } from 'commander';
import { CliError, EstimateOptions, estimateJson, runEstimate } from './estimate';
import { estimateHtml } from './estimate-html';
import { RetrievalTier, DestinationStorageClass, PRICES_REGION } from '../core/prices';

export interface ProgramIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const defaultIO: ProgramIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/** The commander program (exported so tests can run it with captured output); errors are thrown, not exited. */
export function buildProgram(io: ProgramIO = defaultIO): Command {
  const program = new Command('cdk-glacier-vault-to-s3')
    .description('Tools for moving Amazon S3 Glacier vault archives into Amazon S3')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    // Throw instead of calling process.exit (inherited by the subcommands created below).
    .exitOverride()
    .showHelpAfterError();

  program
    .command('estimate')
    .description('Estimate the cost and duration of moving a vault, from its inventory (CSV or JSON)')
    .requiredOption('--inventory <file>', 'vault inventory as returned by Glacier (CSV or JSON)')
    .addOption(new Option('--tier <tier>', `retrieval tier (${Object.values(RetrievalTier).join('|')})`).default(RetrievalTier.BULK))
    .addOption(new Option('--storage-class <class>', `destination S3 storage class (${Object.values(DestinationStorageClass).join('|')})`)
      .default(DestinationStorageClass.DEEP_ARCHIVE))
    .option('--daily-quota-tib <n>', 'rolling 24-hour retrieval quota in TiB', '100')
    .option('--chunk-size-mib <n>', 'copy chunk size in MiB (power of two, 8..4096)', '1024')
    .option('--cross-region', 'the vault and the bucket are in different regions', false)
    .addOption(new Option('--format <format>', 'inventory format (default: detected)').choices(['csv', 'json']))
    .option('--region <region>', `AWS region to price (only ${PRICES_REGION} prices are known)`, PRICES_REGION)
    .option('--json', 'machine-readable output (one JSON document on stdout)', false)
    .option('--html <file>', 'also write a self-contained HTML report with a chart of bytes requested per day')
    .action(async (opts: EstimateOptions & { json?: boolean; html?: string }) => {
      const result = await runEstimate(opts);
      if (opts.html !== undefined) {
        try {
          writeFileSync(opts.html, estimateHtml(result.estimate, result.text));
        } catch (e) {
          throw new CliError(`--html ${opts.html}: cannot write the report: ${(e as Error).message}`);
        }
      }
      io.stdout(opts.json ? `${JSON.stringify(estimateJson(opts.inventory, result), null, 2)}\n` : result.text);
    });

  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[] = process.argv, io: ProgramIO = defaultIO): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err instanceof CliError) {
      io.stderr(`error: ${err.message}\n`);
      return 2;
    }
    // commander already printed its own message (unknown option, missing value, help, version).
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) return err.exitCode ?? 1;
    io.stderr(`error: ${err.stack ?? err.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
