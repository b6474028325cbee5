import { StrictMode } from 'react';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from './App';
import { colors } from './MeetingMap';
import type { Meeting } from './api';
import { json, liveStream, serve, signedIn, type Call } from './test/api';
import { frank, meeting, pamConnections, pamMeetings, pamReports, people } from './test/fixtures';

const live = '/api/persons/1/meetings/live';

// openAt renders the app signed in as the organizer, at address.
function openAt(address: string, meetings: (url: URL) => Response | Promise<Response> = () => json(200, pamMeetings), detection = () => json(404, { error: 'no route' })) {
  window.history.replaceState(null, '', address);
  const calls = serve({
    ...signedIn(),
    'GET /api/detection': detection,
    'GET /api/persons': () => json(200, people),
    'GET /api/persons/1/meetings': meetings,
    'GET /api/persons/1/locations': () => json(200, pamReports),
    'GET /api/persons/1/connection': () => json(200, pamConnections),
  });
  render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
  return { user: userEvent.setup(), calls };
}

function cards(): string[] {
  return within(screen.getByRole('list', { name: 'People Pam Trexler met' }))
    .getAllByRole('button')
    .map((b) => b.textContent ?? '');
}

function meetingCalls(calls: Call[]): string[] {
  return calls.filter((c) => c.url.pathname === '/api/persons/1/meetings').map((c) => c.url.search);
}

function send(m: Meeting) {
  act(() => liveStream(live)!.send('meeting', m, String(m.version)));
}

const all = 'Met 2 people in 3 meetings, 36 min together';

describe('encounters', () => {
  it('sums up whom the person met, a card per person: meetings, time together, closest, last meeting', async () => {
    const { user } = openAt('/');
    await user.click(await screen.findByRole('button', { name: /Pam Trexler/ }));
    expect(await screen.findByText(all)).toBeInTheDocument();
    expect(window.location.pathname).toBe('/persons/1');
    expect(cards()).toEqual([
      'Taco FargoAlpha Omega Upholstery2 meetings · 36 min together · closest 0.0 mlast 2020-08-15 10:45',
      'Otto SpringThe Chicken Sisters Restaurant1 meeting · a moment together · closest 0.0 mlast 2020-07-07 10:37',
    ]);
  });

  it('sorts, searches and filters in the address, which a reload and Back keep', async () => {
    const { user } = openAt('/persons/1');
    await screen.findByText(all);
    await user.selectOptions(screen.getByLabelText('Sort by'), 'recent');
    expect(window.location.search).toBe('?sort=recent');
    await user.type(screen.getByLabelText('Find a person'), 'chicken');
    expect(window.location.search).toBe('?sort=recent&find=chicken');
    expect(await screen.findByText(`${all}; showing 1 person`)).toBeInTheDocument();
    expect(cards()[0]).toMatch(/^Otto Spring/);

    act(() => window.history.back()); // before the search: typing replaced the entry
    expect(await screen.findByText(all)).toBeInTheDocument();
    expect(window.location.search).toBe('');
  });

  it('opens a deep link with its filters and selected person', async () => {
    openAt('/persons/1?min=2&with=5');
    expect(await screen.findByText(`${all}; showing 1 person`)).toBeInTheDocument();
    expect(screen.getByLabelText('At least (meetings)')).toHaveValue(2);
    const taco = within(screen.getByRole('list', { name: 'People Pam Trexler met' })).getByRole('button', { name: /Taco Fargo/ });
    expect(taco).toHaveAttribute('aria-expanded', 'true');
    expect(within(screen.getByRole('list', { name: 'Meetings with Taco Fargo' })).getAllByRole('button')).toHaveLength(2);
  });

  it('maps only the meetings of the people the filters show', async () => {
    const { user } = openAt('/persons/1');
    await screen.findByText(all);
    const map = screen.getByRole('region', { name: "Map of Pam Trexler's meetings" });
    const points = () =>
      [...map.querySelectorAll('.leaflet-marker-icon.cluster')].reduce((n, c) => n + Number(c.textContent), 0) + map.querySelectorAll(`path[stroke="${colors.meeting}"]`).length;
    await user.type(screen.getByLabelText('Find a person'), 'chicken');
    expect(await screen.findByText(`${all}; showing 1 person`)).toBeInTheDocument();
    await waitFor(() => expect(points()).toBe(1));
  });

  it('shows each meeting’s time together, and filters on the least time together in the address', async () => {
    const { user } = openAt('/persons/1?with=5');
    await screen.findByText(all);
    expect(within(screen.getByRole('list', { name: 'Meetings with Taco Fargo' })).getAllByRole('button').map((b) => b.textContent)).toEqual([
      '2020-08-15 10:30–10:45, 15 min together, closest 0.3 m',
      '2020-07-07 10:21–10:52, 21 min together, closest 0.0 m',
    ]);
    await user.type(screen.getByLabelText('At least (minutes together)'), '30');
    expect(window.location.search).toBe('?with=5&together=30');
    expect(await screen.findByText(`${all}; showing 1 person`)).toBeInTheDocument();
    await user.clear(screen.getByLabelText('At least (minutes together)'));
    await user.type(screen.getByLabelText('At least (minutes together)'), '37');
    expect(await screen.findByText(`${all}; showing 0 people`)).toBeInTheDocument();
  });

  it('folds the filters behind one control that says how many are on', async () => {
    const { user } = openAt('/persons/1?find=taco&together=10');
    await screen.findByText(`${all}; showing 1 person`);
    const filters = screen.getByRole('button', { name: 'Filters (2 on)' });
    expect(filters).toHaveAttribute('aria-expanded', 'false');
    expect(screen.getByRole('form', { name: 'Which meetings' })).toHaveClass('folded');
    await user.click(filters);
    expect(filters).toHaveAttribute('aria-expanded', 'true');
    expect(screen.getByRole('form', { name: 'Which meetings' })).not.toHaveClass('folded');
    expect(screen.getByLabelText('At least (minutes together)')).toHaveValue(10);
  });

  it('says how current the meetings are when detection is behind, and nothing when it is not', async () => {
    const to = new Date(Date.now() - 180_000).toISOString();
    openAt('/persons/1', undefined, () => json(200, { current_to: to, lag_seconds: 180, backlog_reports: 12000 }));
    expect(await screen.findByText(`Meetings are up to date to ${to.slice(11, 16)} (3 min behind).`)).toBeInTheDocument();
  });

  it.each([
    ['current', () => json(200, { current_to: new Date().toISOString(), lag_seconds: 2, backlog_reports: 0 })],
    ['forbidden', () => json(403, { error: 'only the organizer may do this' })],
    ['not there', () => json(404, { error: 'no such route' })],
  ])('shows nothing about detection when it is %s', async (_, detection) => {
    const { calls } = openAt('/persons/1', undefined, detection);
    await screen.findByText(all);
    await vi.waitFor(() => expect(calls.some((c) => c.url.pathname === '/api/detection')).toBe(true));
    expect(screen.queryByText(/Meetings are up to date/)).not.toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('adds a new meeting as it happens, and applies changes by version', async () => {
    openAt('/persons/1');
    await screen.findByText(all);
    act(() => liveStream(live)!.open());
    expect(await screen.findByText('Live: new meetings appear as they happen.')).toBeInTheDocument();
    const now = meeting(7, frank, '2020-08-20T10:00:00Z', '2020-08-20T10:05:00Z', 1.5, { ended: false, version: 20 });
    send(now);
    expect(await screen.findByText('Met 3 people in 4 meetings, 41 min together')).toBeInTheDocument();
    send({ ...now, last_seen: '2020-08-20T10:20:00Z', duration_s: 1200, together_s: 1200, ended: true, version: 21 });
    expect(await screen.findByText('Met 3 people in 4 meetings, 56 min together')).toBeInTheDocument();
    send({ ...pamMeetings[1], merged_into: 1, version: 22 });
    send(now); // older: changes nothing
    expect(await screen.findByText('Met 2 people in 3 meetings, 56 min together')).toBeInTheDocument();
  });

  it('asks the server for the days around the venue’s days, and goes back', async () => {
    const { user, calls } = openAt('/persons/1?from=2020-08-01&to=2020-08-31');
    expect(await screen.findByText('Met 1 person in 1 meeting, 15 min together')).toBeInTheDocument();
    expect(meetingCalls(calls).at(-1)).toBe('?limit=1000&start_date=2020-07-31&end_date=2020-09-01');
    expect(screen.getByLabelText('From (YYYY-MM-DD)')).toHaveValue('2020-08-01');
    await user.click(screen.getByRole('button', { name: 'Clear' }));
    expect(await screen.findByText(all)).toBeInTheDocument();
    act(() => window.history.back());
    expect(await screen.findByText('Met 1 person in 1 meeting, 15 min together')).toBeInTheDocument();
  });

  it('shows a day typed wrong once the field is left', async () => {
    const { user } = openAt('/persons/1');
    await screen.findByText(all);
    await user.type(screen.getByLabelText('To (YYYY-MM-DD)'), '7/7/2020');
    expect(screen.queryByText(/Enter a day as YYYY-MM-DD/)).not.toBeInTheDocument();
    await user.tab();
    expect(screen.getByText('Enter a day as YYYY-MM-DD, such as 2020-07-07.')).toBeInTheDocument();
    expect(window.location.search).toBe('');
  });

  it('reads every page the Link names', async () => {
    const { calls } = openAt('/persons/1', (url) =>
      url.searchParams.has('after')
        ? json(200, pamMeetings.slice(2))
        : new Response(JSON.stringify(pamMeetings.slice(0, 2)), {
            headers: { 'Content-Type': 'application/json', Link: '</api/persons/1/meetings?limit=2&after=x>; rel="next"' },
          }),
    );
    expect(await screen.findByText(all)).toBeInTheDocument();
    expect(meetingCalls(calls)).toContain('?limit=2&after=x');
  });

  it('keeps the old results, dimmed, when a reload fails, and tries again', async () => {
    let fail = false;
    const { user } = openAt('/persons/1', () => (fail ? json(503, { error: 'the database is unavailable, try again later' }) : json(200, pamMeetings)));
    await screen.findByText(all);
    fail = true;
    act(() => liveStream(live)!.open()); // a (re)opened stream reads the list again
    expect(await screen.findByRole('alert', {}, { timeout: 4000 })).toHaveTextContent(
      "Pam Trexler's meetings could not be brought up to date; these are the last ones read. the database is unavailable, try again later",
    );
    expect(screen.getByText(all)).toBeInTheDocument();
    expect(document.querySelector('.results')).toHaveClass('stale');
    fail = false;
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText(all)).toBeInTheDocument();
    await screen.findByText(all);
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('keeps every report one link away, and Back returns', async () => {
    const { user } = openAt('/persons/1');
    await screen.findByText(all);
    await user.click(screen.getByRole('link', { name: 'Every report' }));
    expect(await screen.findByText(/Met 3 people, 5 times/)).toBeInTheDocument();
    expect(liveStream(live)).toBeUndefined();
    act(() => window.history.back());
    expect(await screen.findByText(all)).toBeInTheDocument();
  });
});
