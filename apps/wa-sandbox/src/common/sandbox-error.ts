export type SandboxErrorCode = 'bad_request' | 'not_found' | 'conflict' | 'timeout' | 'unauthorized';

/** Thrown by the sandbox's services; the admin API maps the code to an HTTP status. */
export class SandboxError extends Error {
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SandboxError';
  }
}

export function httpStatusFor(code: SandboxErrorCode): number {
  switch (code) {
    case 'bad_request':
      return 400;
    case 'unauthorized':
      return 401;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'timeout':
      return 504;
  }
}
