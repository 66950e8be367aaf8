/**
 * The console's shell: sign-in (an API token, kept in sessionStorage, sent as a bearer token), the
 * navigation of the pages this credential's roles allow, and the page of the current route.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, v1, whenUnauthenticated } from './api';
import { ErrorBox } from './components/ui';
import { PAGES, RECORD_PAGE } from './pages';
import { href, useRoute } from './router';
import { allowed, forgetToken, type Me, storedToken, storeToken } from './session';

export function App() {
  const [me, setMe] = useState<Me | undefined>();
  const [checking, setChecking] = useState(!!storedToken());
  const route = useRoute();

  useEffect(() => {
    whenUnauthenticated(() => setMe(undefined));
    if (storedToken()) {
      get<Me>(v1('/me')).then(
        (m) => setMe(m),
        () => forgetToken()
      ).finally(() => setChecking(false));
    }
  }, []);

  if (checking) return <div class="loading center">Signing in…</div>;
  if (!me) return <SignIn onSignedIn={setMe} />;

  const visible = PAGES.filter((p) => allowed(me, p.roles));
  const [first] = route.parts;
  const page = first === 'records' && route.parts.length >= 3 ? RECORD_PAGE : (visible.find((p) => p.id === first) ?? visible[0]);
  const permitted = !!page && allowed(me, page.roles);

  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href={href(visible[0]?.id ?? 'api')}>
          <span class="logo" aria-hidden="true" />
          collateral-fhir
        </a>
        <nav class="nav">
          {visible.map((p) => (
            <a key={p.id} href={href(p.id)} class={page?.id === p.id ? 'active' : ''}>
              {p.title}
            </a>
          ))}
        </nav>
        <div class="who" data-testid="who">
          <span title={me.identified ? 'sees identified data' : 'PHI is masked for this credential'}>
            {me.name} <span class="roles">{me.roles.join(', ')}</span>
          </span>
          <button
            type="button"
            class="link"
            onClick={() => {
              forgetToken();
              setMe(undefined);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main class="main">
        {page && permitted ? <page.component route={route} me={me} /> : <ErrorBox title="Not available" error={new Error('Your roles do not include this page.')} />}
      </main>
    </div>
  );
}

function SignIn(p: { onSignedIn: (me: Me) => void }) {
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const token = String(new FormData(e.currentTarget as HTMLFormElement).get('token') ?? '').trim();
    if (!token) return;
    setBusy(true);
    setError(undefined);
    try {
      const me = await get<Me>(v1('/me'), { token });
      storeToken(token);
      p.onSignedIn(me);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new Error('This token is not valid for this service.') : (err as Error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="signin">
      <form class="signin-card" onSubmit={(e) => void submit(e)}>
        <h1>
          <span class="logo" aria-hidden="true" /> collateral-fhir
        </h1>
        <p class="muted">Sign in with an API token. It is kept only in this browser tab and sent as a bearer token.</p>
        <label>
          API token
          <input name="token" type="password" autocomplete="off" required autofocus data-testid="token" />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorBox error={error} title="Could not sign in" />
        <p class="hint muted">
          On a fresh local install the token is in <code>data/api-token</code>.
        </p>
      </form>
    </div>
  );
}
