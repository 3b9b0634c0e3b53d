/**
 * A person at a browser, for the local OpenID provider's pages (deploy/local/oidc): enters a
 * device code and logs in through the development login form. Cookies are kept per person;
 * redirects are followed by hand so each page's cookies are taken.
 */
export async function enterDeviceCode(verificationUri: string, userCode: string, login: string, password = 'chaperone'): Promise<string> {
  const jar = new Map<string, string>();
  const origin = new URL(verificationUri).origin;
  const send = async (url: string, init: RequestInit = {}): Promise<{ status: number; body: string; location: string | undefined }> => {
    const res = await fetch(new URL(url, origin), { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    return { status: res.status, body: await res.text(), location: res.headers.get('location') ?? undefined };
  };
  const form = (fields: Record<string, string>): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  const follow = async (r: { status: number; body: string; location: string | undefined }) => {
    for (let i = 0; i < 10 && r.location; i++) r = await send(r.location);
    return r;
  };
  const page = await send(verificationUri);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (!xsrf) throw new Error(`no device form at ${verificationUri}: ${page.body.slice(0, 200)}`);
  let r = await follow(await send(new URL(verificationUri).pathname, form({ xsrf, user_code: userCode })));
  // "Do you want to sign in on that device?": confirm (the hidden fields of the confirm form).
  const confirmXsrf = /id="op.deviceConfirmForm"[\s\S]*?name="xsrf" value="([^"]+)"/.exec(r.body)?.[1];
  if (confirmXsrf) r = await follow(await send(new URL(verificationUri).pathname, form({ xsrf: confirmXsrf, user_code: userCode, confirm: 'yes' })));
  const action = /<form[^>]*action="([^"]+\/interaction\/[^"]+)"/.exec(r.body)?.[1];
  if (!action) throw new Error(`no login form after the device code: ${(r.body.match(/<form[^>]*>|<input[^>]*>|<button[^>]*>/g) ?? []).join(" ")} ${r.status}`);
  r = await follow(await send(action, form({ prompt: 'login', login, password })));
  // A consent page (when the provider asks for one): accept.
  const consent = /<form[^>]*action="([^"]+\/interaction\/[^"]+)"[\s\S]*?name="prompt" value="consent"/.exec(r.body)?.[1];
  if (consent) r = await follow(await send(consent, form({ prompt: 'consent' })));
  return r.body;
}
