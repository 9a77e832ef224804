/** The jobs console: header, unreachable banner, hash-routed pages, the confirm dialog. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { SessionView } from '../console/api-types.js';
import { apiGet, apiPost, onReachabilityChange, setCsrfToken } from './api.js';
import { AuditPage } from './components/audit-page.js';
import { ConfirmDialog, ConsoleContext, pollIntervalMs, type ActionRequest, type Notice } from './components/common.js';
import { EmailQueuePage } from './components/email-page.js';
import { InstancesPage } from './components/instances-page.js';
import { JobPage } from './components/job-page.js';
import { Overview } from './components/overview.js';
import { RunPage } from './components/run-page.js';
import { formatInstant } from './format.js';
import { hrefOf, parseRoute, type Route } from './router.js';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = (): void => {
      setRoute(parseRoute(window.location.hash));
      // A new page: move focus to its content for keyboard and screen reader users.
      document.getElementById('content')?.focus();
    };
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function Page({ route }: { readonly route: Route }) {
  switch (route.page) {
    case 'overview':
      return <Overview />;
    case 'job':
      return <JobPage key={route.name} name={route.name} />;
    case 'run':
      return <RunPage key={route.runId} runId={route.runId} />;
    case 'emails':
      return <EmailQueuePage />;
    case 'instances':
      return <InstancesPage />;
    case 'audit':
      return <AuditPage />;
    case 'missing':
      return (
        <section>
          <h1>Not found</h1>
          <p>
            No page at {route.path}. <a href={hrefOf.overview()}>All jobs</a>
          </p>
        </section>
      );
  }
}

function App({ session }: { readonly session: SessionView }) {
  const route = useRoute();
  const [request, setRequest] = useState<ActionRequest | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [unreachableSince, setUnreachableSince] = useState<Date | null>(null);
  useEffect(() => {
    onReachabilityChange((reachable) => setUnreachableSince((since) => (reachable ? null : (since ?? new Date()))));
  }, []);
  // An action's result belongs to the page it was taken on.
  useEffect(() => setNotice(null), [route]);
  const nav = [
    { href: hrefOf.overview(), label: 'Jobs', current: route.page === 'overview' || route.page === 'job' || route.page === 'run' },
    { href: hrefOf.emails(), label: 'Email queue', current: route.page === 'emails' },
    { href: hrefOf.instances(), label: 'Instances', current: route.page === 'instances' },
    { href: hrefOf.audit(), label: 'Audit trail', current: route.page === 'audit' },
  ];
  const signOut = async (): Promise<void> => {
    await apiPost('/api/sign-out').catch(() => undefined);
    window.location.assign('/sign-in');
  };
  return (
    <ConsoleContext.Provider value={{ session, ask: setRequest }}>
      <a class="skip-link" href="#content">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Jobs console</span>
        <nav aria-label="Main">
          {nav.map((item) => (
            <a key={item.href} href={item.href} aria-current={item.current ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {session.mode === 'loopback'
            ? 'Local access (loopback, no sign-in)'
            : `Signed in as ${session.actor.name} (${session.actor.role})`}
        </span>
        {session.mode === 'token' ? (
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        ) : null}
      </header>
      {unreachableSince === null ? null : (
        <div class="banner" role="alert" data-testid="unreachable">
          The worker is unreachable since {formatInstant(unreachableSince.toISOString())}; retrying every {pollIntervalMs / 1000} s. What
          you see may be out of date.
        </div>
      )}
      <main id="content" tabIndex={-1}>
        {notice === null ? null : (
          <div class={`notice notice-${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'} data-testid="notice">
            <span>{notice.text}</span>{' '}
            <button type="button" onClick={() => setNotice(null)} aria-label="Dismiss the message">
              Dismiss
            </button>
          </div>
        )}
        <Page route={route} />
      </main>
      <footer class="muted">
        worker {session.version}; refreshed every {pollIntervalMs / 1000} s
      </footer>
      <ConfirmDialog
        request={request}
        onFinished={(result) => {
          setRequest(null);
          if (result !== null) setNotice(result);
        }}
      />
    </ConsoleContext.Provider>
  );
}

async function start(): Promise<void> {
  const root = document.getElementById('app');
  if (root === null) return;
  try {
    const session = await apiGet<SessionView>('/api/session');
    setCsrfToken(session.csrfToken);
    root.textContent = '';
    render(<App session={session} />, root);
  } catch {
    root.innerHTML = '';
    const message = document.createElement('p');
    message.className = 'banner';
    message.setAttribute('role', 'alert');
    message.textContent = 'The worker is unreachable. Reload the page to try again.';
    root.append(message);
  }
}

void start();
