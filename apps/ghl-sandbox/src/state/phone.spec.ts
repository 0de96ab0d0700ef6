import { toE164 } from './phone';

describe('toE164', () => {
  it.each([
    ['+1 888-888-8888', '+18888888888'],
    ['+18832327657', '+18832327657'],
    ['(555) 123-4567', '+15551234567'],
    ['0044 20 7946 0958', '+442079460958'],
    ['+55 11 91234-5678', '+5511912345678'],
    ['5511912345678', '+5511912345678'],
  ])('%s → %s', (input, expected) => {
    expect(toE164(input)).toBe(expected);
  });

  it('gives null for text without digits', () => {
    expect(toE164('')).toBeNull();
    expect(toE164('call me')).toBeNull();
  });
});
