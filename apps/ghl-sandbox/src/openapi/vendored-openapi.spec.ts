import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveOpenApiDir, VENDORED_SPEC_FILES } from './openapi-files';

const vendoredDir = resolveOpenApiDir();
const repoRoot = resolve(__dirname, '../../../..');
const sharedDir = ['/work/shared/ghl-openapi', resolve(repoRoot, '../shared/ghl-openapi')].find((dir) =>
  existsSync(join(dir, 'common/common-schemas.json')),
);

/** `git hash-object`: the blob id upstream's SOURCE.md lists. */
function gitBlobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

describe('vendored OpenAPI files', () => {
  it('are the blobs of upstream commit 0af86a4 listed in SOURCE.md', () => {
    const source = readFileSync(join(vendoredDir, 'SOURCE.md'), 'utf8');
    for (const file of VENDORED_SPEC_FILES) {
      const row = new RegExp(`\\| ${file.replace(/[.]/g, '\\.')} \\| ([0-9a-f]{40}) \\|`).exec(source);
      expect(row).not.toBeNull();
      expect(gitBlobId(readFileSync(join(vendoredDir, file)))).toBe(row![1]);
    }
  });

  // The shared copy exists on the project machines, not in a fresh clone: there the blob ids above
  // are the check; here the bytes are also compared with the project's copy.
  it(`are byte-identical to the shared copy (${sharedDir ?? 'absent: compared by blob id only'})`, () => {
    const pairs = VENDORED_SPEC_FILES.map((file) => ({
      file,
      vendored: readFileSync(join(vendoredDir, file)),
      shared: sharedDir ? readFileSync(join(sharedDir, file)) : null,
    }));
    for (const { file, vendored, shared } of pairs) {
      if (shared) expect({ file, same: vendored.equals(shared) }).toEqual({ file, same: true });
      else expect(gitBlobId(vendored)).toMatch(/^[0-9a-f]{40}$/);
    }
  });
});
