/** A configuration file or value that cannot be used; the message says what to change. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  override name = 'ConfigError';
}
