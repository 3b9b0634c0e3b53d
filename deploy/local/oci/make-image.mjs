#!/usr/bin/env node
// Builds a multi-layer container image as an OCI image layout directory (image-spec
// "image-layout"), offline and deterministic, so skopeo can copy it from `oci:<dir>:<tag>`.
//
//   usage: node make-image.mjs <dir> [--tag latest] [--layers 3] [--layer-size 1MiB] [--seed text]
//
// Each layer is a gzip'd tar with one file of pseudo-random bytes (incompressible, so layer
// sizes are what was asked for); the config is a minimal linux/amd64 image config.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const argv = process.argv.slice(2);
const dir = argv[0];
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
if (!dir || dir.startsWith('--')) {
  console.error('usage: make-image.mjs <dir> [--tag latest] [--layers 3] [--layer-size 1MiB] [--seed text]');
  process.exit(2);
}
const units = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1e3, mb: 1e6 };
const sizeArg = opt('layer-size', '1MiB');
const m = /^(\d+)\s*([a-z]*)$/i.exec(sizeArg);
const layerSize = m ? Number(m[1]) * (units[(m[2] || 'b').toLowerCase()] ?? 1) : 1024 * 1024;
const layers = Number(opt('layers', '3'));
const tag = opt('tag', 'latest');
const seed = opt('seed', 'chaperone');

const sha = (b) => createHash('sha256').update(b).digest('hex');
const blobs = join(dir, 'blobs', 'sha256');
mkdirSync(blobs, { recursive: true });
const put = (buf) => {
  const d = sha(buf);
  writeFileSync(join(blobs, d), buf);
  return { digest: `sha256:${d}`, size: buf.length };
};

/** Deterministic pseudo-random bytes: SHA-256 in counter mode. */
function bytes(n, label) {
  const out = Buffer.alloc(n);
  for (let i = 0, off = 0; off < n; i++) {
    const h = createHash('sha256').update(`${seed}/${label}/${i}`).digest();
    off += h.copy(out, off);
  }
  return out;
}

/** A POSIX ustar archive with one regular file (enough for a layer). */
function tar(name, content) {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(content.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([h, content, pad, Buffer.alloc(1024)]);
}

const layerDescs = [];
const diffIds = [];
for (let i = 0; i < layers; i++) {
  const t = tar(`layer-${i}.bin`, bytes(layerSize, `layer-${i}`));
  diffIds.push(`sha256:${sha(t)}`);
  layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(t, { level: 1 })) });
}
const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/layer-0.bin'] }, rootfs: { type: 'layers', diff_ids: diffIds }, history: diffIds.map((_, i) => ({ created_by: `chaperone make-image layer ${i}` })) })));
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: layerDescs }));
const md = put(manifest);
writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...md, annotations: { 'org.opencontainers.image.ref.name': tag } }] }));
process.stdout.write(`${JSON.stringify({ dir, tag, manifest: md.digest, layers: layerDescs.map((l) => l.digest) })}\n`);
