import { TOOL_VERSION } from '../version.js';

/**
 * verify.sh, shipped executable in every bundle: the reviewer's checks (VERIFY.md) as a
 * POSIX sh script using only standard tools. Its bytes depend only on the exporter
 * version, so the README can publish its sha256: whoever alters a bundle can also swap
 * this script. Written without shell brace expansions or backquotes so that String.raw
 * keeps every byte as it reads here.
 */
export const VERIFY_SH = String.raw`#!/bin/sh
# Checks this unpacked stella-evidence bundle with standard tools only (written by
# stella-evidence ${TOOL_VERSION}; see VERIFY.md for the same steps by hand).
#
#   sh verify.sh [-t TENANT] [-n THRESHOLD] TRUSTED.pub...
#
# Run it from the directory the bundle was unpacked into. Give the public keys you trust
# from your own media, never the copies under keys/: a bundle cannot vouch for itself.
# Exit 0: every check passed; 1: a check failed; 2: usage error.
# Not checked here: key lifetimes, revocation and the per-tenant trust of a trust file;
# "stella-evidence verify" checks those too.
#
# This copy could have been swapped by whoever altered the bundle: compare its sha256
# with the one published in the stella-evidence README, or run a copy you trust.

set -u
set -f
LC_ALL=C
export LC_ALL

usage() {
  printf 'verify.sh: %s\n' "$1" >&2
  printf 'usage: sh verify.sh [-t TENANT] [-n THRESHOLD] TRUSTED.pub...\n' >&2
  exit 2
}

tenant=
tflag=no
threshold=1
while getopts ':t:n:h' opt; do
  case $opt in
    t) tenant=$OPTARG tflag=yes ;;
    n) threshold=$OPTARG ;;
    h)
      printf 'usage: sh verify.sh [-t TENANT] [-n THRESHOLD] TRUSTED.pub...\n'
      printf 'Run from the unpacked bundle directory; see VERIFY.md.\n'
      exit 0
      ;;
    :) usage "option -$OPTARG needs a value" ;;
    *) usage "unknown option -$OPTARG" ;;
  esac
done
shift $((OPTIND - 1))

case $threshold in
  '' | *[!0-9]* | 0*) usage "-n needs a whole number of at least 1, not '$threshold'" ;;
  ??????????*) usage "-n $threshold is too large" ;;
esac
if [ "$tflag" = yes ]; then
  case $tenant in
    [a-z0-9]*) ;;
    *) usage "invalid tenant id '$tenant': use a lowercase slug [a-z0-9][a-z0-9._-]{0,62}" ;;
  esac
  case $tenant in
    *[!a-z0-9._-]* | ????????????????????????????????????????????????????????????????*)
      usage "invalid tenant id '$tenant': use a lowercase slug [a-z0-9][a-z0-9._-]{0,62}" ;;
  esac
fi
[ $# -ge 1 ] || usage 'give at least one trusted public key (PEM), from your own media'
for tool in openssl sha256sum base64; do
  command -v "$tool" >/dev/null 2>&1 || usage "$tool is not installed"
done
if [ ! -e manifest.json ] && [ ! -e manifest.dsse.json ] && [ ! -e checksums.sha256 ]; then
  usage 'no manifest.json here: run verify.sh from the directory the bundle was unpacked into'
fi

tmp=$(mktemp -d) || usage 'cannot create a temporary directory'
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Each trusted key, identified like stella-evidence does: sha256 of its SPKI DER. The
# same key given twice (or in two encodings) is one key.
nkeys=0
: > "$tmp/keyids"
for k in "$@"; do
  [ -f "$k" ] && [ -r "$k" ] || usage "cannot read key file '$k'"
  openssl pkey -pubin -in "$k" -outform DER -out "$tmp/key.der" 2>/dev/null ||
    usage "'$k' is not a public key (SPKI PEM or DER)"
  kind=$(openssl pkey -pubin -inform DER -in "$tmp/key.der" -noout -text 2>/dev/null | sed -n 1p)
  [ "$kind" = 'ED25519 Public-Key:' ] || usage "'$k' is not an Ed25519 public key"
  case $k in
    keys/* | ./keys/*) printf 'verify.sh: warning: %s comes from the bundle itself; use your own copy\n' "$k" >&2 ;;
  esac
  id=$(sha256sum < "$tmp/key.der" | cut -c1-64)
  if grep -qx "$id" "$tmp/keyids"; then
    printf 'verify.sh: note: key %s given more than once, counted once\n' "$id" >&2
    continue
  fi
  nkeys=$((nkeys + 1))
  printf '%s\n' "$id" >> "$tmp/keyids"
  mv "$tmp/key.der" "$tmp/key.$nkeys.der"
  printf '%s' "$k" > "$tmp/key.$nkeys.name"
done

failed=0
pass() { printf 'PASS  %s\n' "$1"; }
fail() { printf 'FAIL  %s\n' "$1"; failed=$((failed + 1)); }
# A check that could not run has not passed either.
skip() { printf 'SKIP  %s\n' "$1"; failed=$((failed + 1)); }

printf 'verify.sh (stella-evidence ${TOOL_VERSION}) in %s\n' "$(pwd)"

# 1. Only regular files and directories: extraction must not have created links or
# special files, which could make later steps read outside the bundle or block.
nl='
'
odd=$(find . ! -type f ! -type d -print | sed -n 1p)
if [ -z "$odd" ]; then
  odd=$(find . -name "*$nl*" -print | sed -n 1p)
fi
if [ -n "$odd" ]; then
  fail "files: $odd is a link, a special file or has a newline in its name"
  printf 'FAILED: stopped, the bundle tree is not safe to read\n'
  exit 1
fi
nfiles=$(find . -type f -print | wc -l | tr -d ' ')
pass "files: $nfiles regular files, no links or special files"

for f in manifest.json manifest.dsse.json checksums.sha256; do
  if [ ! -f "$f" ]; then
    fail "metadata: $f is missing"
    printf 'FAILED: stopped, the bundle is incomplete\n'
    exit 1
  fi
done

# 2. The listing: checksums.sha256 names every file except the three metadata files
# (the statement pins checksums.sha256, so they cannot be listed in it), nothing else.
listing=ok
if [ -n "$(tail -c 1 checksums.sha256 | tr -d '\n')" ] ||
  ! tr -d '\r' < checksums.sha256 | cmp -s - checksums.sha256 ||
  [ -n "$(sed -n '/^[0-9a-f]\{64\}  ./!p' checksums.sha256 | sed -n 1p)" ]; then
  fail 'listing: checksums.sha256 is not in "<sha256>  <path>" form, one line per file'
  listing=bad
else
  { printf '%s\n' checksums.sha256 manifest.dsse.json manifest.json; cut -c67- checksums.sha256; } |
    sort > "$tmp/listed"
  find . -type f -print | sed 's|^\./||' | sort > "$tmp/found"
  if cmp -s "$tmp/listed" "$tmp/found"; then
    pass 'listing: every file is listed in checksums.sha256, and every listed file is present'
  else
    extra=$(comm -13 "$tmp/listed" "$tmp/found" | sed -n 1p)
    if [ -n "$extra" ]; then
      fail "listing: $extra is not listed in checksums.sha256"
    else
      fail "listing: checksums.sha256 lists a missing or duplicate file: $(comm -23 "$tmp/listed" "$tmp/found" | sed -n 1p)"
    fi
    listing=bad
  fi
fi

# 3. Every listed file has its listed digest.
if [ "$listing" = bad ]; then
  skip 'checksums: not run, the listing is wrong'
elif sha256sum -c checksums.sha256 > "$tmp/sums" 2>&1; then
  pass "checksums: $(wc -l < checksums.sha256 | tr -d ' ') files match checksums.sha256"
else
  fail "checksums: $(sed -n '/: OK$/!p' "$tmp/sums" | sed -n 1p)"
fi

# 4. The envelope. Canonical JSON has no newline and base64 no comma, so splitting at
# commas gives: payload, payloadType, then keyid and sig of each signature.
envelope=bad
if [ "$(wc -l < manifest.dsse.json | tr -d ' ')" = 0 ]; then
  tr ',' '\n' < manifest.dsse.json > "$tmp/env"
  sed '1!d; \|^{"payload":"[A-Za-z0-9+/]*=\{0,2\}"$|!d; s|^{"payload":"||; s|"$||' "$tmp/env" > "$tmp/payload.b64"
  if [ -s "$tmp/payload.b64" ] &&
    [ "$(sed -n 2p "$tmp/env")" = '"payloadType":"application/vnd.in-toto+json"' ] &&
    sed '1,2d' "$tmp/env" | awk '
      { line = $0 }
      NR == 1 {
        if (substr(line, 1, 14) != "\"signatures\":[") bad = 1
        line = substr(line, 15)
      }
      NR % 2 == 1 {
        if (length(line) != 75 || line !~ /^[{]"keyid":"[0-9a-f]+"$/) bad = 1
        next
      }
      {
        if (substr(line, length(line) - 1) == "]}") { last = NR; line = substr(line, 1, length(line) - 2) }
        if (line !~ /^"sig":"[A-Za-z0-9+\/]+=?=?"[}]$/) bad = 1
        print substr(line, 8, length(line) - 9)
      }
      END { if (bad || NR == 0 || NR > 128 || last != NR) exit 1 }' > "$tmp/sigs" &&
    base64 -d < "$tmp/payload.b64" > "$tmp/payload" 2>/dev/null; then
    envelope=ok
  fi
fi
if [ "$envelope" = bad ]; then
  fail 'payload: manifest.dsse.json is not a DSSE envelope as stella-evidence writes it'
elif cmp -s manifest.json "$tmp/payload"; then
  pass 'payload: manifest.json equals the payload signed in manifest.dsse.json'
else
  fail 'payload: manifest.json differs from the payload signed in manifest.dsse.json'
fi

# 5. What the signed statement says, read from the signed payload itself. Canonical JSON
# sorts keys, so the predicate's tenant and totals, predicateType and subject end the
# statement, in this order; quotes inside strings are escaped, so no string can
# imitate this tail.
statement=bad
mtenant=
nartifacts=
pin=
if [ "$envelope" = ok ] && [ "$(wc -l < "$tmp/payload" | tr -d ' ')" = 0 ] &&
  [ "$(dd if="$tmp/payload" bs=56 count=1 2>/dev/null)" = '{"_type":"https://in-toto.io/Statement/v1","predicate":{' ]; then
  { tail -c 1024 "$tmp/payload"; printf '\n'; } | sed -n 's|.*"tenant":"\([a-z0-9][a-z0-9._-]*\)","totals":{"artifacts":\([0-9]\{1,15\}\),"blobs":[0-9]\{1,15\},"bytes":[0-9]\{1,16\}}},"predicateType":"https://stella-ops\.org/evidence-bundle/v1","subject":\[{"digest":{"sha256":"\([0-9a-f]\{64\}\)"},"name":"checksums\.sha256"}\]}$|\1 \2 \3|p' > "$tmp/tail"
  read -r mtenant nartifacts pin < "$tmp/tail" && statement=ok
fi
if [ "$envelope" = bad ]; then
  skip 'statement: the signed payload could not be read'
elif [ "$statement" = bad ]; then
  fail 'statement: the signed payload is not an evidence-bundle statement as stella-evidence writes it'
else
  pass "statement: in-toto statement for tenant $mtenant, $nartifacts artifacts"
fi

if [ "$statement" = bad ]; then
  skip 'pin: the signed statement could not be read'
elif [ "$(sha256sum < checksums.sha256 | cut -c1-64)" = "$pin" ]; then
  pass "pin: the signed statement pins checksums.sha256 (sha256 $pin)"
else
  fail "pin: checksums.sha256 does not have the sha256 the signed statement pins ($pin)"
fi

# 6. Signatures over the DSSE pre-authentication encoding of the payload. A key counts
# once, and only for a signature that verifies with it; a signature counts for one key.
if [ "$envelope" = bad ]; then
  skip 'signatures: the envelope could not be read'
else
  size=$(wc -c < "$tmp/payload" | tr -d ' ')
  printf 'DSSEv1 28 application/vnd.in-toto+json %s ' "$size" > "$tmp/pae"
  cat "$tmp/payload" >> "$tmp/pae"
  nsigs=0
  while IFS= read -r s; do
    nsigs=$((nsigs + 1))
    printf '%s\n' "$s" | base64 -d > "$tmp/sig.$nsigs" 2>/dev/null || : > "$tmp/sig.$nsigs"
  done < "$tmp/sigs"
  signed=0
  i=0
  while [ "$i" -lt "$nkeys" ]; do
    i=$((i + 1))
    id=$(sed -n "$i"p "$tmp/keyids")
    name=$(cat "$tmp/key.$i.name")
    j=0
    ok=no
    while [ "$j" -lt "$nsigs" ] && [ "$ok" = no ]; do
      j=$((j + 1))
      [ -e "$tmp/used.$j" ] && continue
      [ "$(wc -c < "$tmp/sig.$j" | tr -d ' ')" = 64 ] || continue
      if openssl pkeyutl -verify -pubin -keyform DER -inkey "$tmp/key.$i.der" -rawin \
        -in "$tmp/pae" -sigfile "$tmp/sig.$j" >/dev/null 2>&1; then
        : > "$tmp/used.$j"
        ok=yes
      fi
    done
    if [ "$ok" = yes ]; then
      signed=$((signed + 1))
      printf '      key %s (%s): signed\n' "$id" "$name"
    else
      printf '      key %s (%s): no valid signature\n' "$id" "$name"
    fi
  done
  if [ "$signed" -ge "$threshold" ]; then
    pass "signatures: $signed of $nkeys trusted key(s) signed, threshold $threshold"
  else
    fail "signatures: $signed of $nkeys trusted key(s) signed, threshold $threshold"
  fi
fi

# 7. Tenant: the statement's tenant, every artifact's, and -t if given, all equal. Every
# "tenant": key in the statement (one for the bundle, one per artifact) is counted.
if [ "$statement" = bad ]; then
  skip 'tenant: the signed statement could not be read'
else
  awk '{ gsub(/"tenant":/, "\n&"); print }' "$tmp/payload" |
    awk -v want="\"tenant\":\"$mtenant\"" '
      index($0, "\"tenant\":") == 1 {
        all++
        after = substr($0, length(want) + 1, 1)
        if (index($0, want) == 1 && (after == "," || after == "}")) good++
      }
      END { print all + 0, good + 0 }' > "$tmp/tenants"
  read -r all good < "$tmp/tenants"
  if [ "$tflag" = yes ] && [ "$tenant" != "$mtenant" ]; then
    fail "tenant: the bundle belongs to tenant $mtenant, not $tenant"
  elif [ "$all" != $((nartifacts + 1)) ] || [ "$good" != "$all" ]; then
    fail "tenant: $((all - good)) tenant field(s) differ from $mtenant, or an artifact has none"
  else
    expected=
    [ "$tflag" = yes ] && expected=', as expected'
    pass "tenant: $mtenant for the bundle and all $nartifacts artifacts$expected"
  fi
fi

if [ "$failed" -gt 0 ]; then
  printf 'FAILED: %s check(s) failed\n' "$failed"
  exit 1
fi
printf 'OK: every check passed (key lifetimes and revocation are not checked here)\n'
exit 0
`;
