/**
 * libsignal prints whole session records with `console.info` ("Closing session: ...", "Closing open
 * session in favor of incoming prekey bundle"). Processes that run it mute that channel; nothing
 * else in the sandbox or the driver logs through the console.
 */
export function muteLibsignalConsole(): void {
  // eslint-disable-next-line no-console -- silencing the console is the point
  console.info = () => undefined;
}
