import { renderMigration } from './migration-template';

describe('renderMigration', () => {
  it('names the file in kebab case and the class in Pascal case, both ending in the timestamp', () => {
    for (const name of ['AddSessionLid', 'add-session-lid', 'add session lid']) {
      const { fileName, className } = renderMigration(name, 1763726400001, [], []);
      expect(fileName).toBe('1763726400001-add-session-lid.migration.ts');
      expect(className).toBe('AddSessionLid1763726400001');
    }
  });

  it('keeps SQL intact inside template literals and passes parameters', () => {
    const { content } = renderMigration(
      'Tricky',
      1,
      [{ query: 'COMMENT ON TABLE "t" IS \'a `tick` ${x} \\\\ done\'', parameters: ['p1', 2] }],
      [{ query: 'SELECT 1' }],
    );
    expect(content).toContain(
      'await queryRunner.query(`COMMENT ON TABLE "t" IS \'a \\`tick\\` \\${x} \\\\\\\\ done\'`, ["p1",2]);',
    );
    expect(content).toContain('await queryRunner.query(`SELECT 1`);');
    expect(content).toContain("name = 'Tricky1';");
  });

  it('refuses a name that does not start with a letter', () => {
    expect(() => renderMigration('123', 1, [], [])).toThrow('must start with a letter');
    expect(() => renderMigration('  ', 1, [], [])).toThrow('must start with a letter');
  });
});
