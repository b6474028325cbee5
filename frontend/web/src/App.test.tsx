import { StrictMode } from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { Session } from './api';
import { App } from './App';
import { takeToken } from './signin';
import { json, serve, signedIn, type Call } from './test/api';
import { pam, pamConnections, pamMeetings, pamReports, people } from './test/fixtures';

const organizer: Session = { role: 'organizer' };
const attendeePam: Session = { role: 'attendee', person_id: pam.id };
const unauthorized = () => json(401, { error: 'sign in first' });

// openAt renders the app as main.tsx does, opened at the given address.
function openAt(address: string) {
  window.history.replaceState(null, '', address);
  render(
    <StrictMode>
      <App signInToken={takeToken()} />
    </StrictMode>,
  );
  return userEvent.setup();
}

function sessionCalls(calls: Call[]) {
  return calls
    .filter((c) => c.url.pathname === '/api/session')
    .map((c) => ({ method: c.method, authorization: c.headers.get('Authorization'), type: c.headers.get('Content-Type') }));
}

const pamsData = {
  'GET /api/persons/1': () => json(200, pam),
  'GET /api/persons/1/locations': () => json(200, pamReports),
  'GET /api/persons/1/connection': () => json(200, pamConnections),
  'GET /api/persons/1/meetings': () => json(200, pamMeetings),
};

afterEach(() => window.history.replaceState(null, '', '/'));

describe('signing in', () => {
  it('takes the token from the link, removes it from the address and signs in an organizer', async () => {
    const calls = serve({ 'POST /api/session': () => json(200, organizer), 'GET /api/persons': () => json(200, people) });
    openAt('/?tiles=none#token=secret-1');

    expect(window.location.hash).toBe('');
    expect(window.location.href).not.toContain('secret-1');
    expect(window.location.search).toBe('?tiles=none');

    expect(await screen.findByText('5 people')).toBeInTheDocument();
    expect(screen.getByText('Register a person', { selector: 'summary' })).toBeInTheDocument();
    expect(screen.getByText('Signed in as organizer')).toBeInTheDocument();
    // StrictMode mounts twice, so the exchange may be sent twice; nothing else is.
    const session = sessionCalls(calls);
    expect(session.length).toBeGreaterThan(0);
    for (const c of session) expect(c).toEqual({ method: 'POST', authorization: 'Bearer secret-1', type: 'application/json' });
  });

  it('lands an attendee on their own meetings, without the people list or the form', async () => {
    const calls = serve({ 'POST /api/session': () => json(200, attendeePam), ...pamsData });
    openAt('/#token=pams-token');

    expect(await screen.findByRole('heading', { name: 'Whom Pam Trexler met' })).toBeInTheDocument();
    expect(await screen.findByText(/^Met 2 people in 3 meetings, .* together$/)).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'People' })).not.toBeInTheDocument();
    expect(screen.queryByText('Register a person')).not.toBeInTheDocument();
    expect(calls.filter((c) => c.url.pathname === '/api/persons')).toEqual([]);
    expect(sessionCalls(calls)[0]).toEqual({ method: 'POST', authorization: 'Bearer pams-token', type: 'application/json' });
  });

  it('uses the session cookie when opened without a link', async () => {
    const calls = serve({ ...signedIn(attendeePam), ...pamsData });
    openAt('/');
    expect(await screen.findByRole('heading', { name: 'Whom Pam Trexler met' })).toBeInTheDocument();
    const session = sessionCalls(calls);
    expect(session.length).toBeGreaterThan(0);
    for (const c of session) expect(c).toEqual({ method: 'GET', authorization: null, type: null });
  });

  it('asks for the sign-in link when not signed in, and takes a pasted one', async () => {
    const calls = serve({
      'GET /api/session': unauthorized,
      'POST /api/session': () => json(200, organizer),
      'GET /api/persons': () => json(200, people),
    });
    const user = openAt('/');
    expect(await screen.findByText(/Open the sign-in link you were given/)).toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();

    await user.type(screen.getByLabelText('Or paste the link or token here'), 'http://localhost:8080/#token=pasted-2');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('5 people')).toBeInTheDocument();
    expect(sessionCalls(calls).filter((c) => c.method === 'POST')).toEqual([
      { method: 'POST', authorization: 'Bearer pasted-2', type: 'application/json' },
    ]);
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({});
  });

  it('says when a link is not valid', async () => {
    serve({ 'POST /api/session': unauthorized });
    openAt('/#token=expired');
    expect(await screen.findByRole('alert')).toHaveTextContent('This sign-in link is not valid or has expired.');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeInTheDocument();
  });

  it('goes back to the sign-in page when a call is refused for want of a session', async () => {
    serve({ ...signedIn(), 'GET /api/persons': unauthorized });
    openAt('/');
    expect(await screen.findByRole('alert')).toHaveTextContent('Your session has ended. Sign in again.');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Sign in' })).toHaveFocus();
    expect(screen.queryByRole('heading', { name: 'People' })).not.toBeInTheDocument();
  });

  it('signs out', async () => {
    const calls = serve({ ...signedIn(), 'GET /api/persons': () => json(200, people), 'DELETE /api/session': () => new Response(null, { status: 204 }) });
    const user = openAt('/');
    await screen.findByText('5 people');
    await user.click(screen.getByRole('button', { name: 'Sign out' }));

    expect(await screen.findByText(/Open the sign-in link you were given/)).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Sign in' })).toHaveFocus(); // not lost with the Sign out button
    expect(screen.queryByText('5 people')).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Sign out' })).not.toBeInTheDocument();
    expect(sessionCalls(calls).filter((c) => c.method === 'DELETE')).toEqual([{ method: 'DELETE', authorization: null, type: 'application/json' }]);
  });

  it('stays signed in when signing out fails', async () => {
    serve({ ...signedIn(), 'GET /api/persons': () => json(200, people), 'DELETE /api/session': () => json(503, { error: 'the door is busy' }) });
    const user = openAt('/');
    await screen.findByText('5 people');
    await user.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not sign out. the door is busy');
    expect(screen.getByText('5 people')).toBeInTheDocument();
  });
});
