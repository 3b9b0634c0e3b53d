#!/usr/bin/env bash
# Creates what the compose trial mounts at /etc/chaperone/secrets: Ed25519 keys (identity.pem signs
# agent tokens, node.pem seals recordings) and a CA + gateway certificate for localhost.
# Idempotent: existing files are kept. Usage: deploy/compose/make-keys.sh
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/secrets"
mkdir -p "$dir"
cd "$dir"
for k in identity node; do
  [[ -s $k.pem ]] || (umask 077; openssl genpkey -algorithm ed25519 -out "$k.pem")
  [[ -s $k.pub.pem ]] || openssl pkey -in "$k.pem" -pubout -out "$k.pub.pem"
done
if [[ ! -s ca.pem ]]; then
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca-key.pem)
  openssl req -x509 -new -key ca-key.pem -sha256 -days 3650 -subj "/O=Chaperone trial/CN=Chaperone trial CA" -out ca.pem
fi
if [[ ! -s gateway.pem ]]; then
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out gateway-key.pem)
  openssl req -new -key gateway-key.pem -subj "/O=Chaperone trial/CN=localhost" |
    openssl x509 -req -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 -days 825 -out gateway.pem \
      -extfile <(printf 'subjectAltName=DNS:localhost,DNS:gateway,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
fi
# The services run as uid 10001 and must read the keys.
chmod 0644 ./*.pem
echo "keys and certificates in $dir"
