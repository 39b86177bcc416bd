#!/bin/sh
# A real export -> verify -> diff on the shipped fixtures, as an operator, a reviewer and
# an auditor would run it. Output goes to demo-out/ (git-ignored). Uses test-only keys.
set -eu
cd "$(dirname "$0")/.."
se() { node bin/stella-evidence.js "$@"; }
out=demo-out
rm -rf "$out" && mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "Reviewer: trust the acme signing key for tenant acme only"
se trust add --trust "$out/trust.json" --tenant acme --key fixtures/keys/acme-signer.pub

step "Operator: export tenant acme's evidence (2026-10-14 and one week later)"
se export --tenant acme --key fixtures/keys/acme-signer.key --scope environment=prod \
  --created-at 2026-10-14T12:00:00Z --out "$out/acme-2026-10-14.tar" fixtures/evidence/acme
se export --tenant acme --key fixtures/keys/acme-signer.key --scope environment=prod \
  --created-at 2026-10-21T12:00:00Z --out "$out/acme-2026-10-21.tar.gz" fixtures/evidence/acme-next

step "Reviewer: verify both bundles offline against the trust file"
se verify "$out/acme-2026-10-14.tar" --trust "$out/trust.json" --tenant acme
se verify "$out/acme-2026-10-21.tar.gz" --trust "$out/trust.json" --tenant acme

step "Auditor: what changed between the two exports (exit 1 = differences)"
set +e
se diff "$out/acme-2026-10-14.tar" "$out/acme-2026-10-21.tar.gz"
code=$?
set -e
[ "$code" -eq 1 ] || { echo "demo: expected diff to report differences (exit 1), got $code" >&2; exit 1; }

step "Reviewer: a bundle checked against the wrong tenant is refused (exit 4)"
set +e
se verify "$out/acme-2026-10-14.tar" --trust "$out/trust.json" --tenant globex >/dev/null
code=$?
set -e
[ "$code" -eq 4 ] || { echo "demo: expected exit 4, got $code" >&2; exit 1; }
echo "refused with exit $code, as expected"

printf '\ndemo complete: bundles and trust file are in %s/\n' "$out"
