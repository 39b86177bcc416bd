import type { Command } from 'commander';

/**
 * The options every command that reads or writes tenant data shares, in one place so
 * that their names and help never drift apart between commands.
 */
export function withAuthorityOptions(cmd: Command): Command {
  return cmd
    .option('--token <file>', 'Authority token (JWT) in FILE, or set STELLAOPS_TOKEN; its tenant claim is authoritative')
    .option('--config <file>', 'config file (else STELLA_EVIDENCE_CONFIG, else $XDG_CONFIG_HOME/stella-evidence/config.json)')
    .option('--authority-jwks <file>', "the Authority's public keys (JWKS); overrides authority.jwks in the config");
}
