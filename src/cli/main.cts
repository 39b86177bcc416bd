import { Command, CommanderError, Option } from 'commander';
import { installPipeGuard } from './pipe-guard.cjs';
import { withAuthorityOptions } from './auth-options.cjs';

// The entry and this module are CommonJS, and commander is loaded with require():
// `--help` then never starts the ES module loader, about 14 ms of a 150 ms start-up
// here. The library (ES modules) loads when a command runs. The name and version come
// from package.json, which test/version.test.ts keeps in step with src/version.ts.
const { name: TOOL_NAME, version: TOOL_VERSION } = require('../../package.json') as { name: string; version: string };

/**
 * The CLI layer only parses flags, calls the library and maps errors to exit codes.
 * Command modules are imported when their command runs, so `--help` stays fast.
 */
const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * The options of the commands that work on one tenant's part of the store. --tenant is
 * collected, not overwritten, so that two tenants are refused by name rather than one
 * silently chosen.
 */
function withTenantInStore(cmd: Command, tenantHelp: string): Command {
  return withAuthorityOptions(cmd)
    .addOption(new Option('--tenant <tenant>', `${tenantHelp} (or STELLAOPS_TENANT; with a token, must equal its tenant)`).argParser(collect))
    .option('--store <dir>', 'store directory (default: STELLA_EVIDENCE_STORE, else $XDG_DATA_HOME/stella-evidence/store)');
}

function buildProgram(setExit: (code: number) => void, writeOut = (s: string) => void process.stdout.write(s)): Command {
  const program = new Command(TOOL_NAME)
    // Help wraps at 80 columns whatever the terminal, so the build can store it (helpTexts).
    .configureHelp({ helpWidth: 80 })
    .configureOutput({ writeOut, outputError: (s, write) => write(s) })
    .description('Export, verify and diff signed, tenant-scoped StellaOps evidence bundles, fully offline.')
    .version(TOOL_VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExample:\n  stella-evidence export --tenant acme --key keys/acme-signer.key --out acme.tar evidence/\n  stella-evidence verify acme.tar --trust trust.json --tenant acme\n')
    .exitOverride();

  program
    .command('keygen')
    .description('Create an Ed25519 signing key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (SPKI PEM).')
    .requiredOption('--out <prefix>', 'write PREFIX.key and PREFIX.pub')
    .option('--passphrase-file <file>', 'encrypt the private key with the passphrase in FILE (or set STELLA_EVIDENCE_PASSPHRASE)')
    .option('--force', 'overwrite existing key files')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  stella-evidence keygen --out keys/acme-signer\n')
    .action(async (o) => (await import('./keygen.js')).keygenCommand(o));

  const trust = program
    .command('trust')
    .description('Manage the reviewer\'s trust file: which keys vouch for which tenant.')
    .addHelpText('after', '\nExample:\n  stella-evidence trust add --trust trust.json --tenant acme --key keys/acme-signer.pub\n');
  trust
    .command('add')
    .description('Trust a public key for one tenant (creates the trust file if absent).')
    .requiredOption('--trust <file>', 'trust file (JSON)')
    .option('--tenant <tenant>', 'the tenant this key may sign for')
    .requiredOption('--key <pubfile>', 'the public key (SPKI PEM)')
    .option('--comment <text>', 'a note stored with the key')
    .option('--threshold <n>', 'distinct valid signers the tenant needs (a new tenant starts at 1; without it, unchanged)')
    .option('--valid-from <time>', 'the key counts from this instant on (RFC 3339)')
    .option('--valid-until <time>', 'the key counts up to this instant (RFC 3339)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  stella-evidence trust add --trust trust.json --tenant acme --key keys/acme-signer.pub\n' +
        '  stella-evidence trust add --trust trust.json --tenant acme --key keys/acme-cosigner.pub --threshold 2 \\\n' +
        '    --valid-from 2026-01-01T00:00:00Z --valid-until 2027-01-01T00:00:00Z\n',
    )
    .action(async (o) => (await import('./trust.js')).trustAddCommand(o));
  trust
    .command('revoke')
    .description('Revoke a key for every tenant, or only for one: its signatures no longer count, at any time.')
    .requiredOption('--trust <file>', 'trust file (JSON)')
    .requiredOption('--keyid <id>', 'the key id (SHA-256 of the SPKI DER, as trust list shows it)')
    .option('--tenant <tenant>', 'revoke for this tenant only (default: every tenant)')
    .option('--reason <text>', 'why, kept in the trust file and shown by verify and trust list')
    .addHelpText('after', '\nExample:\n  stella-evidence trust revoke --trust trust.json --keyid 1b0b8b2b... --reason "laptop stolen"\n')
    .action(async (o) => (await import('./trust.js')).trustRevokeCommand(o));
  trust
    .command('list')
    .description("Show each tenant's threshold and keys with their state now: valid, not-yet-valid, expired or revoked.")
    .requiredOption('--trust <file>', 'trust file (JSON)')
    .option('--at <time>', 'show the states at this instant instead of now (RFC 3339)')
    .option('--json', 'print the listing as JSON (schemas/trust-list.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence trust list --trust trust.json\n')
    .action(async (o) => (await import('./trust.js')).trustListCommand(o));

  withAuthorityOptions(program.command('export'))
    .description("Bundle one tenant's evidence into a signed, content-addressed, deterministic bundle: files given as PATHs, or a selection of the store.")
    .argument('[path...]', 'files and directories to export (walked recursively); none: export from the store')
    .addOption(new Option('--tenant <tenant>', 'the tenant the evidence belongs to (or STELLAOPS_TENANT; with a token, must equal its tenant)').argParser(collect))
    .addOption(new Option('--key <keyfile>', 'Ed25519 private key (PKCS#8 PEM); repeat to co-sign').argParser(collect))
    .requiredOption('--out <file>', 'bundle to write (.tar, or .tar.gz/.tgz for gzip)')
    .option('--created-at <time>', 'creation time, RFC 3339 (default: SOURCE_DATE_EPOCH, else now)')
    .addOption(new Option('--scope <name=value>', 'sub-scope: environment, project or workspace (repeatable)').argParser(collect))
    .option('--passphrase-file <file>', 'passphrase of an encrypted key (or set STELLA_EVIDENCE_PASSPHRASE)')
    .option('--compression-level <n>', 'gzip level 0-9 for .tar.gz output (default 6)')
    .option('--follow-symlinks', 'export the targets of symbolic links instead of refusing them')
    .option('--force', 'replace an existing output file')
    .option('--quiet', 'no progress bar on stderr (it is shown only on a terminal)')
    .option('--json', 'print the result as JSON')
    .option('--store <dir>', 'export from this store (default: STELLA_EVIDENCE_STORE, else $XDG_DATA_HOME/stella-evidence/store)')
    .addOption(new Option('--select <name=value>', 'store: kind=K, environment=, project=, workspace=, label.NAME= (repeatable)').argParser(collect))
    .option('--since <time>', 'store: only records ingested at or after this time (RFC 3339)')
    .option('--until <time>', 'store: only records ingested at or before this time (RFC 3339)')
    .option('--cross-tenant', 'store: export several tenants (repeat --tenant; the first is the requesting tenant)')
    .option('--reason <text>', 'store, with --cross-tenant: why, recorded in the manifest and every involved audit log')
    .option('--actor <name>', 'store: who exports, for the audit log (default: STELLA_EVIDENCE_ACTOR, else the OS user)')
    .addHelpText(
      'after',
      '\nExamples:\n  stella-evidence export --tenant acme --key keys/acme-signer.key --scope environment=prod \\\n    --created-at 2026-11-01T00:00:00Z --out acme.tar evidence/\n' +
        '  stella-evidence export --tenant acme --store store/ --select kind=sbom --select environment=prod \\\n    --key keys/acme-signer.key --out acme-sboms.tar\n' +
        '  stella-evidence export --cross-tenant --tenant acme --tenant globex --reason "joint incident 42" \\\n    --store store/ --key keys/acme-signer.key --key keys/globex-signer.key --out joint.tar\n',
    )
    .action(async (paths, o) => (await import('./export.js')).exportCommand(paths, o));

  program
    .command('verify')
    .description('Verify a bundle offline: structure, every digest, the signatures and the tenant.')
    .argument('<bundle>', 'bundle file (.tar or .tar.gz)')
    .requiredOption('--trust <file>', 'trust file: the only source of trusted keys')
    .option('--tenant <tenant>', 'the tenant you expect (default: the one the manifest names)')
    .option('--at <time>', "evaluate key lifetimes at this instant (RFC 3339; default: the bundle's creation time)")
    .option('--allow-cross-tenant', 'accept a cross-tenant bundle: it then needs valid signatures by keys trusted for every tenant involved')
    .option('--max-archive-bytes <size>', 'refuse archives that expand beyond SIZE (default 64G; guards against decompression bombs)')
    .option('--max-entries <n>', 'refuse archives with more than N entries (default 1000000)')
    .option('--json', 'print the report as JSON (schemas/verify-report.schema.json)')
    .option('--quiet', 'no progress bar on stderr (it is shown only on a terminal)')
    .addHelpText('after', '\nExample:\n  stella-evidence verify acme.tar --trust trust.json --tenant acme\n')
    .action(async (bundle, o) => setExit(await (await import('./verify.js')).verifyCommand(bundle, o)));

  program
    .command('extract')
    .description('Verify a bundle like verify, then write each artifact under its logical name into a new or empty directory.')
    .argument('<bundle>', 'bundle file (.tar or .tar.gz)')
    .requiredOption('--trust <file>', 'trust file: the only source of trusted keys')
    .requiredOption('--to <dir>', 'target directory: must not exist, or be empty; appears only when complete')
    .option('--tenant <tenant>', 'the tenant you expect (default: the one the manifest names)')
    .option('--at <time>', "evaluate key lifetimes at this instant (RFC 3339; default: the bundle's creation time)")
    .option('--allow-cross-tenant', 'accept a cross-tenant bundle: it then needs valid signatures by keys trusted for every tenant involved')
    .option('--max-archive-bytes <size>', 'refuse archives that expand beyond SIZE (default 64G; guards against decompression bombs)')
    .option('--max-entries <n>', 'refuse archives with more than N entries (default 1000000)')
    .option('--quiet', 'no progress bar on stderr (it is shown only on a terminal)')
    .addHelpText('after', '\nExample:\n  stella-evidence extract acme.tar --trust trust.json --tenant acme --to acme-evidence/\n')
    .action(async (bundle, o) => setExit(await (await import('./extract.js')).extractCommand(bundle, o)));

  program
    .command('inspect')
    .description('Show what a bundle claims (tenant, scope, signers, artifacts) without a trust file. Verifies nothing.')
    .argument('<bundle>', 'bundle file (or a manifest.json or manifest.dsse.json)')
    .option('--json', 'print the claims as JSON (schemas/inspect-report.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence inspect acme.tar\n')
    .action(async (bundle, o) => (await import('./inspect.js')).inspectCommand(bundle, o));

  program
    .command('sign')
    .description("Co-sign an intact bundle: append one signature to its envelope; nothing else changes.")
    .argument('<bundle>', 'bundle file (.tar or .tar.gz)')
    .requiredOption('--key <keyfile>', 'Ed25519 private key (PKCS#8 PEM)')
    .option('--out <file>', 'write the co-signed bundle here (default: replace BUNDLE atomically)')
    .option('--force', 'replace an existing --out file')
    .option('--passphrase-file <file>', 'passphrase of an encrypted key (or set STELLA_EVIDENCE_PASSPHRASE)')
    .option('--json', 'print the result as JSON (schemas/sign-result.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence sign acme.tar --key keys/acme-approver.key\n')
    .action(async (bundle, o) => (await import('./sign.js')).signCommand(bundle, o));

  program
    .command('diff')
    .description('Compare the manifests of two bundles: added, removed, changed, renamed; tenant, scope and signer changes.')
    .argument('<a>', 'the earlier bundle, manifest.json or envelope')
    .argument('<b>', 'the later bundle, manifest.json or envelope')
    .option('--trust <file>', 'verify both sides first against this trust file; refuse a side that does not verify')
    .option('--tenant <tenant>', 'with --trust: the tenant both sides must belong to')
    .option('--at <time>', 'with --trust: evaluate key lifetimes at this instant (RFC 3339)')
    .option('--json', 'print the differences as JSON (schemas/diff-report.schema.json)')
    .addHelpText(
      'after',
      '\nExamples:\n  stella-evidence diff acme-2026-10-14.tar acme-2026-10-21.tar\n' +
        '  stella-evidence diff acme-2026-10-14.tar acme-2026-10-21.tar --trust trust.json --tenant acme\n',
    )
    .action(async (a, b, o) => setExit(await (await import('./diff.js')).diffCommand(a, b, o)));

  const store = program.command('store').description("Keep each tenant's evidence in the embedded store: ingest it, list it, export a selection.");
  withTenantInStore(store.command('add'), 'the tenant the evidence belongs to')
    .description('Ingest files for one tenant: content-addressed blobs, one record per input, each logged in the audit trail.')
    .argument('<path...>', 'files and directories to ingest (directories are walked recursively; names as export gives them)')
    .option('--kind <kind>', 'record this kind instead of the one recognised from the content')
    .addOption(new Option('--label <name=value>', 'a label for every ingested record (repeatable)').argParser(collect))
    .addOption(new Option('--scope <name=value>', 'sub-scope: environment, project or workspace (repeatable)').argParser(collect))
    .option('--actor <name>', 'who is ingesting, for the audit log (default: STELLA_EVIDENCE_ACTOR, else the OS user; with a token, its subject)')
    .option('--follow-symlinks', 'ingest the targets of symbolic links instead of refusing them')
    .option('--json', 'print the result as JSON (schemas/store-add-result.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence store add --tenant acme --scope environment=prod --label team=payments evidence/\n')
    .action(async (paths, o) => (await import('./store.js')).storeAddCommand(paths, o));
  withTenantInStore(store.command('list'), 'the tenant whose records to list')
    .description("List one tenant's records, optionally only those a selection matches.")
    .addOption(new Option('--select <name=value>', 'kind=K, environment=, project=, workspace=, label.NAME= (repeatable)').argParser(collect))
    .option('--since <time>', 'only records ingested at or after this time (RFC 3339)')
    .option('--until <time>', 'only records ingested at or before this time (RFC 3339)')
    .option('--json', 'print the records as JSON (schemas/store-list-result.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence store list --tenant acme --select kind=sbom --select environment=prod\n')
    .action(async (o) => (await import('./store.js')).storeListCommand(o));

  const audit = program.command('audit').description("Read and check a tenant's hash-chained audit log in the store.");
  withTenantInStore(audit.command('verify'), 'the tenant whose log to check')
    .description('Check the whole chain of a tenant\'s audit log and its agreement with the records; report the first broken link.')
    .option('--json', 'print the result as JSON (schemas/audit-verify-result.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence audit verify --tenant acme\n')
    .action(async (o) => setExit(await (await import('./audit.js')).auditVerifyCommand(o)));
  withTenantInStore(audit.command('list'), 'the tenant whose log to show')
    .description("Show a tenant's audit events, oldest first.")
    .option('--json', 'print the events as JSON (schemas/audit-list-result.schema.json)')
    .addHelpText('after', '\nExample:\n  stella-evidence audit list --tenant acme\n')
    .action(async (o) => (await import('./audit.js')).auditListCommand(o));

  return program;
}

/**
 * Every command's --help text, exactly as the program prints it, keyed by the JSON of
 * its command path ("[]" for the program itself). The build stores them in
 * dist/cli/help.json, from which static-help.cts prints them without loading commander.
 */
export function helpTexts(): Record<string, string> {
  let text = '';
  const program = buildProgram(() => undefined, (s) => void (text += s));
  const texts: Record<string, string> = {};
  const walk = (cmd: Command, path: string[]): void => {
    text = '';
    cmd.outputHelp();
    texts[JSON.stringify(path)] = text;
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return texts;
}

export async function main(argv: string[]): Promise<number> {
  installPipeGuard();
  let code = 0; // ExitCode.ok, unless a command sets another
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help shown because no (sub)command was given is a usage error; "help CMD" is not.
      const shown = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || (e.code === 'commander.help' && e.exitCode === 0);
      if (shown) return 0;
    }
    // Loaded only on the way out with a failure: help and version never load the library.
    const { ExitCode, StellaError } = await import('../errors.js');
    if (e instanceof CommanderError) return ExitCode.usage;
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
