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

  const store = program.command('store').description("Keep each tenant's evidence in the embedded store: ingest it, list it, export a selection.");
  store
    .command('add')
    .description('Ingest files for one tenant: content-addressed blobs, one record per input, each logged in the audit trail.')
    .argument('<path...>', 'files and directories to ingest (directories are walked recursively; names as export gives them)')
    .addOption(new Option('--tenant <tenant>', 'the tenant the evidence belongs to (required)').argParser(collect))
    .option('--store <dir>', 'store directory (default: STELLA_EVIDENCE_STORE, else $XDG_DATA_HOME/stella-evidence/store)')
    .option('--kind <kind>', 'record this kind instead of the one recognised from the content')
    .addOption(new Option('--label <name=value>', 'a label for every ingested record (repeatable)').argParser(collect))
    .addOption(new Option('--scope <name=value>', 'sub-scope: environment, project or workspace (repeatable)').argParser(collect))
    .option('--actor <name>', 'who is ingesting, for the audit log (default: STELLA_EVIDENCE_ACTOR, else the OS user)')
    .option('--follow-symlinks', 'ingest the targets of symbolic links instead of refusing them')
    .option('--json', 'print the result as JSON (schemas/store-add-result.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence store add --tenant acme --scope environment=prod --label team=payments evidence/\n')
    .action(async (paths, o) => (await import('./store.js')).storeAddCommand(paths, o));
  store
    .command('list')
    .description("List one tenant's records, optionally only those a selection matches.")
    .addOption(new Option('--tenant <tenant>', 'the tenant whose records to list (required)').argParser(collect))
    .option('--store <dir>', 'store directory (default: STELLA_EVIDENCE_STORE, else $XDG_DATA_HOME/stella-evidence/store)')
    .addOption(new Option('--select <name=value>', 'kind=K, environment=, project=, workspace=, label.NAME= (repeatable)').argParser(collect))
    .option('--since <time>', 'only records ingested at or after this time (RFC 3339)')
    .option('--until <time>', 'only records ingested at or before this time (RFC 3339)')
    .option('--json', 'print the records as JSON (schemas/store-list-result.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence store list --tenant acme --select kind=sbom --select environment=prod\n')
    .action(async (o) => (await import('./store.js')).storeListCommand(o));

  const audit = program.command('audit').description("Read and check a tenant's hash-chained audit log in the store.");
  audit
    .command('verify')
    .description('Check the whole chain of a tenant\'s audit log and its agreement with the records; report the first broken link.')
    .addOption(new Option('--tenant <tenant>', 'the tenant whose log to check (required)').argParser(collect))
    .option('--store <dir>', 'store directory (default: STELLA_EVIDENCE_STORE, else $XDG_DATA_HOME/stella-evidence/store)')
    .option('--json', 'print the result as JSON (schemas/audit-verify-result.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence audit verify --tenant acme\n')
    .action(async (o) => setExit(await (await import('./audit.js')).auditVerifyCommand(o)));
  audit
    .command('list')
    .description("Show a tenant's audit events, oldest first.")
    .addOption(new Option('--tenant <tenant>', 'the tenant whose log to show (required)').argParser(collect))
    .option('--store <dir>', 'store directory (default: STELLA_EVIDENCE_STORE, else $XDG_DATA_HOME/stella-evidence/store)')
    .option('--json', 'print the events as JSON (schemas/audit-list-result.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence audit list --tenant acme\n')
    .action(async (o) => (await import('./audit.js')).auditListCommand(o));

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
