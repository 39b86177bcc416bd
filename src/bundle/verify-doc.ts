import { TOOL_VERSION } from '../version.js';

/**
 * VERIFY.md, shipped in every bundle. Its bytes depend only on the exporter version,
 * so reviewers can compare it with the copy published in the project's README.
 * String.raw keeps the sed and awk backslashes byte for byte; code blocks are fenced
 * with tildes (CommonMark) because a backquote cannot appear in String.raw unescaped.
 * test/posix-verify.test.ts runs these commands as written.
 */
export const VERIFY_MD = String.raw`# Verifying this evidence bundle with standard tools

This bundle was written by stella-evidence ${TOOL_VERSION}. These steps check it by hand
with tar, sha256sum, openssl (3.0 or later), base64, sed, awk and basic POSIX utilities;
no jq, no node, no network. "sh verify.sh -t TENANT TRUSTED.pub..." runs the same checks
in one go (compare its sha256 with the one in the stella-evidence README first: whoever
alters a bundle can also alter the script). "stella-evidence verify" does all of it and
more; see the last section.

Every step must pass. Together they tie each file to a key you trust: your key signed
the payload (5), manifest.json is that payload (4), it pins checksums.sha256 (3), and
checksums.sha256 pins every other file (2).

## 0. What you need

The bundle file, the tenant you expect, and the signer's public key (PEM) from your own
trusted media. Never use the copy under keys/ in the bundle: a bundle cannot vouch for
itself. Use absolute paths:

~~~sh
BUNDLE=/path/to/bundle.tar          # the file you received (.tar or .tar.gz)
TRUSTED=/path/to/trusted-signer.pub # a public key you trust, from your own media
TENANT=your-tenant                  # the tenant the bundle must belong to
~~~

## 1. Unpack into an empty directory

GNU tar detects gzip by itself. The bundle holds only regular files; the last command
prints "files OK" only when no link or special file came out. Scratch files go to
../work, outside the bundle, so that step 2 does not see them.

~~~sh
mkdir review review/bundle review/work
tar -xf "$BUNDLE" -C review/bundle
cd review/bundle
test -z "$(find . ! -type f ! -type d)" && echo files OK
~~~

## 2. Every file is listed, and matches its checksum

checksums.sha256 lists every file except manifest.json, manifest.dsse.json and itself
(the signed statement pins checksums.sha256, so listing those would be circular). The
diff must print nothing: a file that is not listed was added to the bundle.

~~~sh
sha256sum -c --strict --quiet checksums.sha256 && echo checksums OK
find . -type f | sed 's|^\./||' | LC_ALL=C sort > ../work/found
{ printf '%s\n' checksums.sha256 manifest.dsse.json manifest.json
  sed 's|^[0-9a-f]\{64\}  ||' checksums.sha256; } | LC_ALL=C sort | diff - ../work/found && echo listing OK
~~~

## 3. The statement pins checksums.sha256

manifest.json is an in-toto statement in canonical JSON (RFC 8785): a single line, no
spaces, keys sorted. Its last key is "subject", which holds exactly one entry, so the
file ends with ,"subject":[{"digest":{"sha256":"<hex>"},"name":"checksums.sha256"}]}
and nothing else. Quotes inside JSON strings are escaped, so no string can imitate this
text, and the sed below reads the real subject. If it finds nothing, pin is empty and
sha256sum reports an error instead of "checksums.sha256: OK".

~~~sh
pin=$(sed -n 's|.*,"subject":\[{"digest":{"sha256":"\([0-9a-f]\{64\}\)"},"name":"checksums\.sha256"}\]}$|\1|p' manifest.json)
echo "$pin  checksums.sha256" | sha256sum -c
~~~

## 4. manifest.json is exactly the signed payload

manifest.dsse.json is a DSSE envelope, also canonical JSON:
{"payload":"<base64 of manifest.json>","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"<hex>","sig":"<base64>"},...]}

~~~sh
sed -n 's|^{"payload":"\([A-Za-z0-9+/=]*\)".*|\1|p' manifest.dsse.json | base64 -d > ../work/payload
cmp manifest.json ../work/payload && echo payload OK
~~~

## 5. The signature, with your key

What is signed is the DSSE pre-authentication encoding of the payload: "DSSEv1", the
byte length of the payload type (28), the payload type, the byte length of the payload,
then the payload, separated by single spaces. A signature's keyid is the sha256 of the
signer's public key in DER (SubjectPublicKeyInfo) form; compute it from your key, take
the signature with that keyid, and check it with your key. openssl must print
"Signature Verified Successfully"; if your key did not sign, it finds no signature and
fails.

~~~sh
printf 'DSSEv1 28 application/vnd.in-toto+json %d ' "$(wc -c < ../work/payload)" > ../work/pae
cat ../work/payload >> ../work/pae
keyid=$(openssl pkey -pubin -in "$TRUSTED" -outform DER | sha256sum | cut -c1-64)
sed -n 's|.*{"keyid":"'"$keyid"'","sig":"\([A-Za-z0-9+/=]*\)"}.*|\1|p' manifest.dsse.json | base64 -d > ../work/sig
openssl pkeyutl -verify -pubin -inkey "$TRUSTED" -rawin -in ../work/pae -sigfile ../work/sig
~~~

When several signatures are required, repeat the last four commands with each trusted
key (set TRUSTED to it) and count the keys that verify. Count a key once however often
it appears: two files with the same keyid are the same key.

## 6. The tenant

The first command must print "tenant OK". The second prints each distinct tenant named
in the statement with how often it appears; it must print exactly one line, with your
tenant and a count of artifacts + 1 (once for the bundle, once per artifact). The third
prints that expected line.

~~~sh
test "$(sed -n 's|.*"tenant":"\([^"]*\)","totals":{.*|\1|p' manifest.json)" = "$TENANT" && echo tenant OK
awk '{ gsub(/"tenant":/, "\n&"); print }' manifest.json | sed -n 's|^"tenant":\("[^"]*"\).*|\1|p' | sort | uniq -c
echo "expected: $(( $(sed -n 's|.*"totals":{"artifacts":\([0-9]*\),.*|\1|p' manifest.json) + 1 )) \"$TENANT\""
~~~

## What these steps do not check

- Key lifetimes and revocation: whether your key was valid when the bundle was created,
  or has been revoked since. You decide which keys you trust.
- Trust per tenant and thresholds beyond counting: a trust file binds keys to tenants and
  says how many distinct keys must sign; here you count by hand.
- Strict Ed25519 rules (RFC 8032: canonical signature and key encodings, small-order keys
  refused), which openssl applies differently in edge cases.
- The archive as received: unpacking hides duplicate entries (the last one wins), and
  tar may refuse or rewrite unsafe names and links before you see them.
- That the JSON is canonical and matches its schema, that artifact sizes and totals
  agree, and that every blob belongs to an artifact.

"stella-evidence verify BUNDLE --trust TRUST.json --tenant TENANT" checks all of these,
reading the archive without unpacking it.
`;
