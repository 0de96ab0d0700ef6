import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The monorepo root: the nearest ancestor of this file holding a package.json (works from src and dist). */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
}

/** Built entry points the harnesses spawn (`npm run build` first). */
export const builtPaths = {
  sandboxMain: (root = repoRoot()) => join(root, 'dist/apps/wa-sandbox/src/main.js'),
  baileysDriver: (root = repoRoot()) => join(root, 'dist/apps/wa-sandbox/src/driver/baileys-driver.js'),
  trustPreload: (root = repoRoot()) => join(root, 'dist/libs/wa-sandbox-client/src/trust-preload.js'),
};
