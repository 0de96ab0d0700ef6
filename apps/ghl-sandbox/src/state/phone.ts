/**
 * Normalises a phone number to E.164 as GHL stores it (GHL-CONTRACT §3.4: input may be loose,
 * "+1 888-888-8888"; stored and returned numbers are "+18888888888").
 *
 * Assumed (the docs do not say): numbers without a country code take the location's country, and
 * only US/CA (+1) is modelled; a "00" international prefix becomes "+".
 */
export function toE164(input: string, defaultCountryCallingCode = '1'): string | null {
  const trimmed = input.trim();
  if (trimmed === '') return null;
  const hasPlus = trimmed.startsWith('+');
  let digits = trimmed.replace(/\D/g, '');
  if (digits === '') return null;
  if (!hasPlus && digits.startsWith('00')) return `+${digits.slice(2)}`;
  if (hasPlus) return `+${digits}`;
  if (digits.length === 10) digits = defaultCountryCallingCode + digits;
  return `+${digits}`;
}
