/**
 * @module @chaperone/console
 * The web console for the SOC and approvers: the dashboard, sessions, the replay player, the approvals inbox and
 * the SQL console, over the API's JSON API (same origin, session cookie). Role-aware: soc and admin
 * see recordings, approvers (and soc, admin) the approvals.
 */
import { render } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { api, type WhoAmI } from './api.js';
import { Me, canSeeApprovals, canSeeRecordings } from './session-context.js';
import { Login } from './pages/login.js';
import { Sessions } from './pages/sessions.js';
import { Dashboard } from './pages/dashboard.js';
import { SessionPage } from './pages/session.js';
import { Approvals } from './pages/approvals.js';
import { Sql } from './pages/sql.js';
import './styles.css';

function Nav() {
  const { me, setMe } = useContext(Me);
  const { route, path } = useLocation();
  if (!me) return null;
  const link = (href: string, label: string) => (
    <li>
      <a href={href} aria-current={path === href || path.startsWith(`${href}/`) ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
  return (
    <nav aria-label="Console">
      <ul>
        {canSeeRecordings(me) && link('/dashboard', 'Dashboard')}
        {canSeeRecordings(me) && link('/sessions', 'Sessions')}
        {canSeeApprovals(me) && link('/approvals', 'Approvals')}
        {canSeeRecordings(me) && link('/sql', 'SQL')}
      </ul>
      <span class="who" aria-label="Logged in as">
        {me.subject} ({me.roles.join(', ')})
      </span>
      <button
        type="button"
        onClick={() =>
          void api.logout().finally(() => {
            setMe(undefined);
            route('/login');
          })
        }
      >
        Log out
      </button>
    </nav>
  );
}

/** The first page a role can use. */
const home = (me: WhoAmI): string => (me.roles.includes('soc') || me.roles.includes('admin') ? '/sessions' : '/approvals');

function Home() {
  const { me } = useContext(Me);
  const { route } = useLocation();
  useEffect(() => route(me ? home(me) : '/login', true), [me]);
  return null;
}

function App() {
  const [me, setMe] = useState<WhoAmI | undefined>(undefined);
  const [checked, setChecked] = useState(false);
  useEffect(() => {
    // A cookie from an earlier login: who it is, if it is still valid.
    api.whoami().then(
      (w) => {
        setMe(w.roles.length ? w : undefined);
        setChecked(true);
      },
      () => setChecked(true),
    );
  }, []);
  if (!checked) return <p aria-busy="true">Loading…</p>;
  return (
    <Me.Provider value={{ me, setMe }}>
      {/* Links under /api (the browser login) are full navigations, not client-side routes. */}
      <LocationProvider scope={/^\/(?!api\/)/}>
        <header>
          <a class="brand" href="/">
            Chaperone
          </a>
          <Nav />
        </header>
        <main id="main">
          <Router>
            <Route path="/login" component={Login} />
            <Route path="/dashboard" component={Dashboard} />
            <Route path="/sessions" component={Sessions} />
            <Route path="/sessions/:id" component={SessionPage} />
            <Route path="/approvals" component={Approvals} />
            <Route path="/sql" component={Sql} />
            <Route default component={Home} />
          </Router>
        </main>
      </LocationProvider>
    </Me.Provider>
  );
}

render(<App />, document.getElementById('app')!);
