import { join, resolve } from 'node:path';
import { findMigrationsDirectory } from './migration-commands';

const root = resolve(__dirname, '../../../..');
const sourceDir = join(root, 'libs/persistence/src/migrations');

describe('findMigrationsDirectory', () => {
  it('finds the source folder from the ts sources', () => {
    expect(findMigrationsDirectory(__dirname)).toBe(sourceDir);
  });

  it('finds the source folder, not dist, from the compiled CLI location', () => {
    expect(findMigrationsDirectory(join(root, 'dist/libs/persistence/src/cli'))).toBe(sourceDir);
  });

  it('fails clearly outside the repository', () => {
    expect(() => findMigrationsDirectory('/')).toThrow('cannot find libs/persistence/src/migrations');
  });
});
