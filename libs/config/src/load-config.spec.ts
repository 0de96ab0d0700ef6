import { z } from 'zod';
import { integer } from './env-parsers';
import { envVar } from './env-var';
import { loadConfig } from './load-config';

const schema = z.object({ PORT: envVar(integer(1, 65535), '8080'), OTHER: envVar(integer(1, 2), '1') });

class ExitCalled extends Error {
  constructor(readonly code: number | string | null | undefined) {
    super(`process.exit(${String(code)})`);
  }
}

describe('loadConfig', () => {
  let stderr: jest.SpyInstance;
  let exit: jest.SpyInstance;

  beforeEach(() => {
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    exit = jest.spyOn(process, 'exit').mockImplementation((code) => {
      throw new ExitCalled(code);
    });
  });

  afterEach(() => {
    stderr.mockRestore();
    exit.mockRestore();
  });

  it('returns the config when the environment is valid', () => {
    expect(loadConfig(schema, { PORT: '1234' })).toEqual({ PORT: 1234, OTHER: 1 });
    expect(stderr).not.toHaveBeenCalled();
    expect(exit).not.toHaveBeenCalled();
  });

  it('prints one line to stderr and exits with code 1 on a bad environment', () => {
    expect(() => loadConfig(schema, { PORT: 'x', OTHER: '3' })).toThrow(ExitCalled);
    expect(exit).toHaveBeenCalledWith(1);
    expect(stderr).toHaveBeenCalledTimes(1);
    const written = String(stderr.mock.calls[0]?.[0]);
    expect(written).toBe(
      'Invalid environment: PORT: must be an integer from 1 to 65535; OTHER: must be an integer from 1 to 2\n',
    );
    expect(written).not.toMatch(/\n.+/);
    expect(written).not.toContain('    at ');
  });

  it('reads process.env by default', () => {
    const previous = process.env.PORT;
    process.env.PORT = '4321';
    try {
      expect(loadConfig(schema).PORT).toBe(4321);
    } finally {
      if (previous === undefined) delete process.env.PORT;
      else process.env.PORT = previous;
    }
  });

  it('rethrows errors that are not configuration errors', () => {
    const broken = z.object({}).transform(() => {
      throw new TypeError('bug');
    });
    expect(() => loadConfig(broken, {})).toThrow(TypeError);
    expect(exit).not.toHaveBeenCalled();
  });
});
