import { Command, CommanderError, Option } from 'commander';
import { ExitCode, StellaError } from '../errors.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';

/**
 * The CLI layer only parses flags, calls the library and maps errors to exit codes.
 * Command modules are imported when their command runs, so `--help` stays fast.
 */
const collect = (v: string, prev: string[] = []) => [...prev, v];

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command(TOOL_NAME)
    .description('Export, verify and diff signed, tenant-scoped StellaOps evidence bundles, fully offline.')
    .version(TOOL_VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ outputError: (s, write) => write(s) });

  program
    .command('keygen')
    .description('Create an Ed25519 signing key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (SPKI PEM).')
    .requiredOption('--out <prefix>', 'write PREFIX.key and PREFIX.pub')
    .option('--passphrase-file <file>', 'encrypt the private key with the passphrase in FILE (or set STELLA_EVIDENCE_PASSPHRASE)')
    .option('--force', 'overwrite existing key files')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  stella-evidence keygen --out keys/acme-signer\n')
    .action(async (o) => (await import('./keygen.js')).keygenCommand(o));

  const trust = program.command('trust').description('Manage the reviewer\'s trust file: which keys vouch for which tenant.');
  trust
    .command('add')
    .description('Trust a public key for one tenant (creates the trust file if absent).')
    .requiredOption('--trust <file>', 'trust file (JSON)')
    .option('--tenant <tenant>', 'the tenant this key may sign for')
    .requiredOption('--key <pubfile>', 'the public key (SPKI PEM)')
    .option('--comment <text>', 'a note stored with the key')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  stella-evidence trust add --trust trust.json --tenant acme --key keys/acme-signer.pub\n')
    .action(async (o) => (await import('./trust.js')).trustAddCommand(o));

  program
    .command('export')
    .description("Bundle one tenant's evidence files into a signed, content-addressed, deterministic bundle.")
    .argument('<path...>', 'files and directories to export (directories are walked recursively)')
    .addOption(new Option('--tenant <tenant>', 'the tenant the evidence belongs to (required)').argParser(collect))
    .addOption(new Option('--key <keyfile>', 'Ed25519 private key (PKCS#8 PEM); repeat to co-sign').argParser(collect))
    .requiredOption('--out <file>', 'bundle to write (.tar, or .tar.gz/.tgz for gzip)')
    .option('--created-at <time>', 'creation time, RFC 3339 (default: SOURCE_DATE_EPOCH, else now)')
    .addOption(new Option('--scope <name=value>', 'sub-scope: environment, project or workspace (repeatable)').argParser(collect))
    .option('--passphrase-file <file>', 'passphrase of an encrypted key (or set STELLA_EVIDENCE_PASSPHRASE)')
    .option('--compression-level <n>', 'gzip level 0-9 for .tar.gz output (default 6)')
    .option('--follow-symlinks', 'export the targets of symbolic links instead of refusing them')
    .option('--force', 'replace an existing output file')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  stella-evidence export --tenant acme --key keys/acme-signer.key --scope environment=prod \\\n    --created-at 2026-11-01T00:00:00Z --out acme.tar evidence/\n',
    )
    .action(async (paths, o) => (await import('./export.js')).exportCommand(paths, o));

  program
    .command('verify')
    .description('Verify a bundle offline: structure, every digest, the signatures and the tenant.')
    .argument('<bundle>', 'bundle file (.tar or .tar.gz)')
    .requiredOption('--trust <file>', 'trust file: the only source of trusted keys')
    .option('--tenant <tenant>', 'the tenant you expect (default: the one the manifest names)')
    .option('--json', 'print the report as JSON (schemas/verify-report.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence verify acme.tar --trust trust.json --tenant acme\n')
    .action(async (bundle, o) => setExit(await (await import('./verify.js')).verifyCommand(bundle, o)));

  program
    .command('diff')
    .description('Compare the manifests of two bundles: added, removed, changed, renamed; tenant, scope and signer changes.')
    .argument('<a>', 'the earlier bundle, manifest.json or envelope')
    .argument('<b>', 'the later bundle, manifest.json or envelope')
    .option('--json', 'print the differences as JSON (schemas/diff-report.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence diff acme-2026-10-14.tar acme-2026-10-21.tar\n')
    .action(async (a, b, o) => setExit(await (await import('./diff.js')).diffCommand(a, b, o)));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  const program = buildProgram((c) => (code = c));
  const onSignal = (sig: NodeJS.Signals) => {
    void import('../util/atomic-file.js').then((m) => {
      m.removeInFlightTemporaries();
      process.stderr.write(`stella-evidence: interrupted by ${sig}; nothing was written\n`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return ExitCode.usage;
    }
    if (e instanceof StellaError) {
      process.stderr.write(`stella-evidence: ${e.message}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    process.stderr.write(`stella-evidence: internal error: ${err?.message ?? String(e)} (please report this)\n`);
    if (process.env.STELLA_EVIDENCE_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
    return ExitCode.integrity;
  }
}
