/** Recording could not be acknowledged in time: the session must end, nothing more is forwarded. */
export class RecordingError extends Error {
  override name = 'RecordingError';
  constructor(
    readonly code: 'ACK_TIMEOUT' | 'PUBLISH_FAILED' | 'CLOSED',
    message: string,
  ) {
    super(message);
  }
}

/** A client that failed authentication or asked for something it may not have. */
export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly code: 'NO_TLS' | 'BAD_TOKEN' | 'SUBJECT_MISMATCH' | 'UNKNOWN_CONNECTION' | 'NO_PASSWORD',
    message: string,
  ) {
    super(message);
  }
}

/** The upstream refused the gateway's login or could not be reached. */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    readonly code: 'CONNECT_FAILED' | 'RESPONSE_TIMEOUT' | 'AUTH_FAILED' | 'AUTH_UNSUPPORTED' | 'PROTOCOL',
    message: string,
  ) {
    super(message);
  }
}

/** The HTTP client aborted or sent a body the HTTP parser rejected; nothing more can be sent to it. */
export class ClientGone extends Error {
  override name = 'ClientGone';
  readonly code = 'CLIENT_GONE';
}

/** A queued publish that was not sent: its owner failed, or an earlier publish of its owner did. */
export class PublishCancelled extends Error {
  override name = 'PublishCancelled';
  readonly code = 'PUBLISH_CANCELLED';
}

/** A request on a session an administrator ended: answered with the reason, never forwarded. */
export class SessionEndedError extends Error {
  override name = 'SessionEndedError';
  readonly code = 'SESSION_ENDED';
}
