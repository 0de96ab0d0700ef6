import type { SessionState } from '@app/contracts';

/** What the person looking at the page should do now; the page turns it into a button or a hint. */
export const NEXT_ACTIONS = [
  'none',
  'connect',
  'scan',
  'wait',
  'restart',
  'reauthorize',
  'reinstall',
  'contact_support',
] as const;
export type NextAction = (typeof NEXT_ACTIONS)[number];

export const INSTALLATION_HEALTHS = [
  'ok',
  'awaiting_token',
  'needs_reauth',
  'uninstalled',
  'not_installed',
] as const;
export type InstallationHealth = (typeof INSTALLATION_HEALTHS)[number];

export interface Explanation {
  /** One short sentence: what is going on. */
  headline: string;
  /** Why, in plain words (includes the last disconnect reason when it matters). */
  detail: string;
  /** What to do next. */
  nextStep: string;
  action: NextAction;
}

export interface ExplainInput {
  installation: InstallationHealth;
  installationReason: string | null;
  /** null when the session was never started. */
  state: SessionState | null;
  desiredState: 'running' | 'stopped' | null;
  ownerLive: boolean;
  phone: string | null;
  pushName: string | null;
  lastDisconnectCode: number | null;
  lastDisconnectReason: string | null;
  qrLive: boolean;
  /** Seconds since the projection last changed. */
  secondsSinceUpdate: number | null;
}

// A session nobody owns is picked up within a lease TTL and a placement round (seconds); minutes mean
// no worker can take it, which a person cannot fix by waiting.
const OWNERLESS_PATIENCE_SECONDS = 120;

/** WhatsApp's disconnect codes (the DESIGN's table), said the way a tenant understands them. */
export function disconnectInWords(code: number | null): string | null {
  switch (code) {
    case null:
      return null;
    case 401:
      return 'this device was logged out, from the phone (Linked devices) or by WhatsApp';
    case 403:
      return 'WhatsApp refused this number; it may be banned or restricted';
    case 408:
      return 'the connection to WhatsApp timed out';
    case 411:
      return 'the phone and this device disagree about the linked devices';
    case 428:
      return 'the connection to WhatsApp was closed';
    case 440:
      return 'another connection with the same number replaced this one';
    case 500:
      return 'WhatsApp reported an error with this session';
    case 503:
      return 'WhatsApp was unavailable';
    case 515:
      return 'WhatsApp asked for a reconnect (normal right after linking)';
    default:
      return `WhatsApp closed the connection (code ${code})`;
  }
}

function withReason(base: string, input: ExplainInput): string {
  const words = disconnectInWords(input.lastDisconnectCode);
  const reason = input.lastDisconnectReason;
  if (words && reason && !reason.includes(words)) return `${base} ${capitalise(words)} (${reason}).`;
  if (words) return `${base} ${capitalise(words)}.`;
  if (reason) return `${base} ${capitalise(reason)}.`;
  return base;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The plain-words story of a location's WhatsApp link and GHL installation, and the one next step.
 * GHL problems come first: without a working installation, messages cannot reach GHL whatever
 * WhatsApp does.
 */
export function explainSession(input: ExplainInput): Explanation {
  switch (input.installation) {
    case 'not_installed':
      return {
        headline: 'The app is not installed for this sub-account.',
        detail: 'GoHighLevel has not installed the WhatsApp app here, so nothing can be linked yet.',
        nextStep: 'Install the app from the GoHighLevel marketplace, then open this page again.',
        action: 'reinstall',
      };
    case 'uninstalled':
      return {
        headline: 'The app was uninstalled from this sub-account.',
        detail:
          'The WhatsApp link and the GoHighLevel authorisation were removed when the app was uninstalled.',
        nextStep: 'Reinstall the app from the GoHighLevel marketplace to link WhatsApp again.',
        action: 'reinstall',
      };
    case 'needs_reauth':
      return {
        headline: 'GoHighLevel needs you to authorise the app again.',
        detail: `GoHighLevel stopped accepting this app's access${input.installationReason ? ` (${input.installationReason})` : ''}, so messages cannot reach your conversations.`,
        nextStep: 'Press "Re-authorise GoHighLevel" and approve the app for this sub-account.',
        action: 'reauthorize',
      };
    case 'awaiting_token':
      return {
        headline: 'The install is not finished.',
        detail: 'GoHighLevel told us about the install, but the authorisation step did not complete.',
        nextStep: 'Press "Re-authorise GoHighLevel" to finish the install.',
        action: 'reauthorize',
      };
    case 'ok':
      return explainWhatsApp(input);
  }
}

function explainWhatsApp(input: ExplainInput): Explanation {
  const ownerless =
    input.desiredState === 'running' &&
    !input.ownerLive &&
    input.state !== null &&
    ['starting', 'connecting', 'reconnecting', 'qr', 'open'].includes(input.state);
  if (ownerless) {
    const stuck = (input.secondsSinceUpdate ?? 0) > OWNERLESS_PATIENCE_SECONDS;
    return stuck
      ? {
          headline: 'No server is running this WhatsApp session.',
          detail: 'The session should be running, but no server has picked it up for a few minutes.',
          nextStep: 'Contact support and quote the id shown below.',
          action: 'contact_support',
        }
      : {
          headline: 'A server is picking up this WhatsApp session.',
          detail:
            'The session moves to another server after a restart or an update; this takes a few seconds.',
          nextStep: 'Wait a moment; this page updates by itself.',
          action: 'wait',
        };
  }
  const state = input.state;
  switch (state) {
    case null:
    case 'stopped':
      return {
        headline: 'WhatsApp is not connected.',
        detail:
          state === null
            ? 'No WhatsApp number is linked to this sub-account yet.'
            : 'The WhatsApp connection was stopped.',
        nextStep: 'Press "Connect" to show a QR code, then scan it with your phone.',
        action: 'connect',
      };
    case 'starting':
    case 'connecting':
      return {
        headline: 'Connecting to WhatsApp…',
        detail: 'The server is opening the connection to WhatsApp.',
        nextStep: 'Wait a few seconds; a QR code appears here if the number still has to be linked.',
        action: 'wait',
      };
    case 'qr':
      return input.qrLive
        ? {
            headline: 'Scan the QR code with your phone.',
            detail:
              'WhatsApp is waiting for this device to be linked. The code changes every 20 seconds or so.',
            nextStep:
              'On your phone open WhatsApp → Settings → Linked devices → Link a device, and scan the code. ' +
              'You can also link with a pairing code instead.',
            action: 'scan',
          }
        : {
            headline: 'Waiting for a new QR code…',
            detail: 'The last QR code expired; WhatsApp sends a fresh one in a moment.',
            nextStep: 'Wait a few seconds for the new code.',
            action: 'wait',
          };
    case 'open':
      return {
        headline: `Connected${input.phone ? ` as ${input.phone}` : ''}${input.pushName ? ` (${input.pushName})` : ''}.`,
        detail: 'Messages flow between this WhatsApp number and your GoHighLevel conversations.',
        nextStep: 'Nothing to do.',
        action: 'none',
      };
    case 'reconnecting':
      return {
        headline: 'Reconnecting to WhatsApp…',
        detail: withReason('The connection dropped and is being restored automatically.', input),
        nextStep: 'Wait; if it does not reconnect within a few minutes, press "Restart".',
        action: 'wait',
      };
    case 'logged_out':
      return {
        headline: 'WhatsApp was logged out.',
        detail: withReason('This device is no longer linked to the phone.', input),
        nextStep: 'Press "Connect" and scan the new QR code to link the number again.',
        action: 'connect',
      };
    case 'qr_timeout':
      return {
        headline: 'Nobody scanned the QR code in time.',
        detail: 'WhatsApp stops offering codes after a few minutes without a scan.',
        nextStep: 'Press "Connect" to get a new QR code, and have your phone ready.',
        action: 'connect',
      };
    case 'forbidden':
      return {
        headline: 'WhatsApp refused this number.',
        detail: withReason('WhatsApp will not let this number connect.', input),
        nextStep:
          'Check the number in the WhatsApp app on the phone, then contact support with the id below.',
        action: 'contact_support',
      };
    case 'failed':
      return {
        headline: 'The WhatsApp connection failed.',
        detail: withReason('It stopped after repeated errors.', input),
        nextStep: 'Press "Restart" to try again; if it fails again, contact support with the id below.',
        action: 'contact_support',
      };
  }
}
