#!/usr/bin/env node
/**
 * The npm registry this project's machines reach serves only the Linux builds of some native
 * packages (@swc/core, unrs-resolver). `npm install` then leaves the other platforms' optional
 * packages out of package-lock.json, and `npm ci` refuses the lock as "not in sync".
 *
 * This script adds a placeholder entry for every optional platform package a locked package names but
 * the lock lacks, with the os/cpu/libc its name says. `npm ci` validates against them and skips them
 * on this platform, exactly as it would skip the real ones. Run it after every `npm install`:
 *   node tools/lockfile/complete-lockfile.cjs
 */
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const LOCK = join(__dirname, '../../package-lock.json');
const OS = ['darwin', 'win32', 'linux', 'freebsd', 'android', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el', 'wasm32'];

function platformOf(name) {
  const tokens = name.split('/').pop().split('-');
  const os = tokens.find((t) => OS.includes(t));
  const cpu = tokens.find((t) => CPU.includes(t)) ?? (tokens.includes('eabi') || tokens.includes('gnueabihf') ? 'arm' : undefined);
  const libc = tokens.includes('musl') || tokens.includes('musleabihf') ? 'musl' : tokens.some((t) => t.startsWith('gnu')) ? 'glibc' : undefined;
  return { os, cpu, libc };
}

const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const nested = `${path}/node_modules/${name}`;
    if (packages[key] || packages[nested]) continue;
    const { os, cpu, libc } = platformOf(name);
    if (!os && !cpu) continue; // not a platform build: leave it to npm
    packages[key] = {
      version,
      optional: true,
      ...(entry.dev ? { dev: true } : {}),
      ...(os ? { os: [os] } : {}),
      ...(cpu ? { cpu: [cpu] } : {}),
      ...(libc ? { libc: [libc] } : {}),
    };
    added += 1;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`complete-lockfile: added ${added} platform placeholder(s)\n`);
