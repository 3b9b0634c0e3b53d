import { useContext, useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiFailure } from '../api.js';
import { ErrorLine } from '../components.js';
import { Me } from '../session-context.js';

/**
 * Log in with a token: a person's ID token (`chaperone login` stores one) or one an admin issued. The API checks it and sets an HttpOnly cookie; the token is
 * not kept by the page. An agent identity has no console role and is refused.
 */
export function Login() {
  const { me, setMe } = useContext(Me);
  const { route, query } = useLocation();
  const [token, setToken] = useState('');
  // The browser login comes back here with the provider's or the API's refusal.
  const [error, setError] = useState<string | undefined>(query.error);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState<{ issuer: string }>();
  useEffect(() => {
    api.loginInfo().then((i) => i.browserLogin && setSso({ issuer: i.issuer }), () => undefined);
  }, []);
  useEffect(() => {
    if (me) route(me.roles.includes('soc') || me.roles.includes('admin') ? '/sessions' : '/approvals', true);
  }, [me]);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const who = await api.login(token);
      setToken('');
      setMe(who);
    } catch (err) {
      setError(err instanceof ApiFailure ? err.message : `cannot reach the API: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="login-title" class="login">
      <h1 id="login-title">Log in</h1>
      {sso && (
        <p>
          <a class="button" href="/api/v1/login/oidc">
            Log in with single sign-on
          </a>{' '}
          <span class="muted">({sso.issuer})</span>
        </p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">Identity token</label>
        <textarea
          id="token"
          name="token"
          rows={4}
          autocomplete="off"
          spellcheck={false}
          class="secret"
          aria-describedby="token-help"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
        />
        <p id="token-help" class="help">
          Paste your ID token (after <code>chaperone login</code> it is in <code>~/.config/chaperone/credentials.json</code>) or a token your admin issued with{' '}
          <code>chaperone token issue</code>. The console keeps it in an HttpOnly cookie only.
        </p>
        <button type="submit" disabled={busy || !token.trim()}>
          Log in
        </button>
      </form>
      <ErrorLine error={error} />
    </section>
  );
}
