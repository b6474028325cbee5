import { StrictMode } from 'react';
import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from './App';
import type { Meeting } from './api';
import { json, liveStream, serve, signedIn, type Call } from './test/api';
import { frank, meeting, pamConnections, pamMeetings, pamReports, people } from './test/fixtures';

const live = '/api/persons/1/meetings/live';

// openAt renders the app signed in as the organizer, at address.
function openAt(address: string, meetings: (url: URL) => Response | Promise<Response> = () => json(200, pamMeetings)) {
  window.history.replaceState(null, '', address);
  const calls = serve({
    ...signedIn(),
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

function rows(): HTMLElement[] {
  return within(screen.getByRole('list', { name: 'Meetings of Pam Trexler' })).getAllByRole('listitem');
}

function meetingCalls(calls: Call[]): string[] {
  return calls.filter((c) => c.url.pathname === '/api/persons/1/meetings').map((c) => c.url.search);
}

// send delivers a change on the open live stream.
function send(m: Meeting) {
  act(() => liveStream(live)!.send('meeting', m, String(m.version)));
}

describe('meetings', () => {
  it('shows whom the person met, one row per meeting, newest first: who, when, how long, how close, where', async () => {
    const { user, calls } = openAt('/');
    await user.click(await screen.findByRole('button', { name: /Pam Trexler/ }));
    expect(await screen.findByText('3 meetings with 2 people')).toBeInTheDocument();
    expect(window.location.pathname).toBe('/persons/1');
    expect(rows().map((r) => r.textContent)).toEqual([
      'Taco FargoendedAlpha Omega Upholstery15 Aug 2020, 10:30 – 15 Aug 2020, 10:45 UTC, for 15 minutesclosest 0.3 m, at 37.55363, -122.29088',
      'Otto SpringendedThe Chicken Sisters Restaurant7 Jul 2020, 10:37 UTC, for a momentclosest 0.0 m, at 37.55363, -122.29088',
      'Taco FargoendedAlpha Omega Upholstery7 Jul 2020, 10:21 – 7 Jul 2020, 10:52 UTC, for 31 minutesclosest 0.0 m, at 37.55363, -122.29088',
    ]);
    expect(meetingCalls(calls).at(-1)).toBe('');
    const map = screen.getByRole('region', { name: "Map of Pam Trexler's reports and meetings" });
    expect(map.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive').length).toBe(3);
  });

  it('shows a new meeting as it happens, highlighted, and updates one that ends in place', async () => {
    openAt('/persons/1');
    await screen.findByText('3 meetings with 2 people');
    const stream = liveStream(live)!;
    act(() => stream.open());
    expect(await screen.findByText('Live: new meetings appear as they happen.')).toBeInTheDocument();

    const now = meeting(7, frank, '2020-08-20T10:00:00Z', '2020-08-20T10:05:00Z', 1.5, { ended: false, version: 20 });
    send(now);
    expect(await screen.findByText('4 meetings with 3 people')).toBeInTheDocument();
    const top = rows()[0];
    expect(top.textContent).toContain('Frank Shaderongoing');
    expect(top).toHaveClass('fresh');

    send({ ...now, last_seen: '2020-08-20T10:20:00Z', duration_s: 1200, ended: true, version: 21 });
    expect(await within(rows()[0]).findByText('ended')).toBeInTheDocument();
    expect(rows()[0].textContent).toContain('for 20 minutes');
    expect(rows()).toHaveLength(4);

    // A meeting merged into another goes; an old change changes nothing.
    send({ ...pamMeetings[1], merged_into: 1, version: 22 });
    send(now);
    expect(await screen.findByText('3 meetings with 2 people')).toBeInTheDocument();
    expect(rows()[0].textContent).toContain('ended');
  });

  it('opens the days of the address, puts new days in it, and goes back', async () => {
    const { user, calls } = openAt('/persons/1?from=2020-08-01&to=2020-08-31', (url) =>
      json(200, url.searchParams.has('start_date') ? pamMeetings.slice(0, 1) : pamMeetings),
    );
    await screen.findByText('1 meeting with 1 person');
    expect(meetingCalls(calls).at(-1)).toBe('?start_date=2020-08-01&end_date=2020-08-31');
    expect(screen.getByLabelText('From')).toHaveValue('2020-08-01');

    await user.click(screen.getByRole('button', { name: 'Any day' }));
    expect(window.location.search).toBe('');
    await screen.findByText('3 meetings with 2 people');
    expect(meetingCalls(calls).at(-1)).toBe('');

    act(() => window.history.back());
    expect(await screen.findByText('1 meeting with 1 person')).toBeInTheDocument();
    expect(screen.getByLabelText('To')).toHaveValue('2020-08-31');
    expect(window.location.search).toBe('?from=2020-08-01&to=2020-08-31');
  });

  it('keeps every report one link away, and Back returns to the meetings', async () => {
    const { user } = openAt('/persons/1');
    await screen.findByText('3 meetings with 2 people');
    await user.click(screen.getByRole('link', { name: 'Show every report' }));
    expect(await screen.findByText(/Met 3 people, 5 times/)).toBeInTheDocument();
    expect(window.location.search).toBe('?view=reports');
    expect(liveStream(live)).toBeUndefined(); // closed with the meetings

    act(() => window.history.back());
    expect(await screen.findByText('3 meetings with 2 people')).toBeInTheDocument();
  });

  it('follows the Link to the next page', async () => {
    const { user, calls } = openAt('/persons/1', (url) =>
      url.searchParams.has('after')
        ? json(200, pamMeetings.slice(2))
        : new Response(JSON.stringify(pamMeetings.slice(0, 2)), {
            headers: { 'Content-Type': 'application/json', Link: '</api/persons/1/meetings?limit=2&after=2020-07-07T10%3A37%3A06Z%2C2>; rel="next"' },
          }),
    );
    expect(await screen.findByText('2 meetings with 2 people, more below')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Show more' }));
    expect(await screen.findByText('3 meetings with 2 people')).toBeInTheDocument();
    expect(meetingCalls(calls).at(-1)).toBe('?limit=2&after=2020-07-07T10%3A37%3A06Z%2C2');
    expect(screen.queryByRole('button', { name: 'Show more' })).not.toBeInTheDocument();
  });

  it('says when the meetings cannot be loaded, and tries again', async () => {
    let fail = true;
    const { user } = openAt('/persons/1', () => (fail ? json(503, { error: 'the database is unavailable, try again later' }) : json(200, pamMeetings)));
    expect(await screen.findByRole('alert')).toHaveTextContent("Pam Trexler's meetings could not be loaded. the database is unavailable, try again later");
    fail = false;
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('3 meetings with 2 people')).toBeInTheDocument();
  });
});
