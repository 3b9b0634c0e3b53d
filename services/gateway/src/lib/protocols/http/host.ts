import { HttpProtocolError } from './errors.js';

/**
 * RFC 9110 §7.2: Host = uri-host [ ":" port ] (RFC 3986 §3.2.2). Accepted: an IPv6 literal in
 * brackets, or a name / IPv4 address of letters, digits, "-", ".", "_" and "~" (the unreserved
 * subset of reg-name: no DNS name needs sub-delims or percent-encoding, and servers disagree on
 * them); a port of 1 to 5 digits up to 65535. No userinfo ("user@"), no path, no spaces.
 */
const HOST = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9._~-]{1,253})(?::(\d{1,5}))?$/;

/** The reason a Host value (or an HTTP/2 :authority) is invalid, or undefined when it is valid. */
export function checkHost(value: string): HttpProtocolError | undefined {
  const m = HOST.exec(value);
  if (!m || (m[1] !== undefined && Number(m[1]) > 65535))
    return new HttpProtocolError('BAD_HOST', `invalid Host "${value.slice(0, 80)}": only host[:port] is accepted (RFC 9110 §7.2)`);
  return undefined;
}
