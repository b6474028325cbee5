import { StrictMode } from 'react';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from './App';
import { colors } from './MeetingMap';
import type { Connection, Location } from './api';
import { json, never, serve, type Call, signedIn } from './test/api';
import { frank, met, pamConnections, pamReports, people, report } from './test/fixtures';

interface Server {
  reports?: () => Response | Promise<Response>;
  connections?: (url: URL) => Response | Promise<Response>;
}

// open renders the app against a server holding the fixtures and selects Pam.
async function open({ reports, connections }: Server = {}) {
  const calls = serve({
    ...signedIn(),
    'GET /api/persons': () => json(200, people),
    'GET /api/persons/1/locations': reports ?? (() => json(200, pamReports)),
    'GET /api/persons/1/connection': connections ?? (() => json(200, pamConnections)),
  });
  const user = userEvent.setup();
  // StrictMode runs every effect twice, as a remount would: the map and the
  // requests must survive that.
  render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
  await user.click(await screen.findByRole('button', { name: /Pam Trexler/ }));
  await user.click(await screen.findByRole('link', { name: 'Every report' }));
  return { user, calls };
}

function connectionCalls(calls: Call[]): Record<string, string>[] {
  return calls.filter((c) => c.url.pathname.endsWith('/connection')).map((c) => Object.fromEntries(c.url.searchParams));
}

function count(root: HTMLElement, selector: string): number {
  return root.querySelectorAll(selector).length;
}

describe('connections', () => {
  it('defaults to the range of the person’s reports, 5 m and 15 minutes', async () => {
    const { calls } = await open();
    await screen.findByText(/Met 3 people/);
    expect(screen.getByLabelText('From (YYYY-MM-DD, UTC)')).toHaveValue('2020-07-07');
    expect(screen.getByLabelText('To (YYYY-MM-DD, UTC)')).toHaveValue('2020-08-19');
    expect(screen.getByLabelText('Distance (m)')).toHaveValue(5);
    expect(screen.getByLabelText('Time apart')).toHaveValue('15m');
    expect(connectionCalls(calls)).toEqual([{ start_date: '2020-07-07', end_date: '2020-08-19', distance: '5', window: '15m' }]);
  });

  it('groups the meetings by person with count, first and last meeting, closest distance', async () => {
    await open();
    expect(await screen.findByText('Met 3 people, 5 times (within 5 m and 15 minutes, 2020-07-07 – 2020-08-19 (UTC days))')).toBeInTheDocument();
    const groups = within(screen.getByRole('list', { name: 'People Pam Trexler met' })).getAllByRole('button');
    expect(groups.map((g) => g.textContent)).toEqual([
      'Taco FargoAlpha Omega Upholstery3 times2020-07-07 10:36 – 2020-08-15 10:37closest 0.0 m',
      'Frank ShaderUSDA1 time2020-07-07 10:37closest 0.0 m',
      'Otto SpringThe Chicken Sisters Restaurant1 time2020-07-07 10:37closest 0.0 m',
    ]);
  });

  it('asks again when a control changes', async () => {
    const { user, calls } = await open({
      connections: (url) =>
        json(200, Number(url.searchParams.get('distance')) > 10 ? [...pamConnections, met(frank, report(68, 6, '2020-08-15T10:37:06Z'), 38)] : pamConnections),
    });
    await screen.findByText(/Met 3 people, 5 times/);

    const distance = screen.getByLabelText('Distance (m)');
    await user.clear(distance);
    await user.type(distance, '50');
    expect(await screen.findByText(/Met 3 people, 6 times \(within 50 m/)).toBeInTheDocument();

    await user.selectOptions(screen.getByLabelText('Time apart'), 'Any time');
    expect(await screen.findByText(/Met 3 people, 6 times \(within 50 m, 2020-07-07/)).toBeInTheDocument();

    const last = connectionCalls(calls).at(-1);
    expect(last).toEqual({ start_date: '2020-07-07', end_date: '2020-08-19', distance: '50' });
    // Typing 50 sent one request, not one for 5 and one for 50.
    expect(connectionCalls(calls).map((q) => q.distance)).toEqual(['5', '50', '50']);

    await user.click(screen.getByRole('button', { name: 'Reset' }));
    expect(await screen.findByText(/Met 3 people, 5 times \(within 5 m and 15 minutes/)).toBeInTheDocument();
  });

  it('checks the controls before asking, and shows a problem once the field is left', async () => {
    const { user, calls } = await open();
    await screen.findByText(/Met 3 people/);

    const distance = screen.getByLabelText('Distance (m)');
    await user.clear(distance);
    expect(screen.queryByText('Enter a distance above 0 and at most 1,000 m.')).not.toBeInTheDocument();
    await user.tab();
    expect(screen.getByText('Enter a distance above 0 and at most 1,000 m.')).toBeInTheDocument();
    expect(distance).toHaveAccessibleDescription('Enter a distance above 0 and at most 1,000 m.');
    await user.type(distance, '2000');
    expect(screen.getByText('Enter a distance above 0 and at most 1,000 m.')).toBeInTheDocument();
    await user.clear(distance);
    await user.type(distance, '5');

    const to = screen.getByLabelText('To (YYYY-MM-DD, UTC)');
    await user.clear(to);
    await user.type(to, '2020-7-1');
    await user.tab();
    expect(screen.getByText('Enter a day as YYYY-MM-DD, such as 2020-07-07.')).toBeInTheDocument();
    await user.clear(to);
    await user.type(to, '2020-07-01');
    expect(screen.getByText('The last day must not be before the first.')).toBeInTheDocument();
    await user.clear(to);
    await user.type(to, '2021-07-07');
    expect(screen.queryByText('The range can span at most 366 days.')).not.toBeInTheDocument();
    await user.clear(to);
    await user.type(to, '2021-07-08');
    expect(screen.getByText('The range can span at most 366 days.')).toBeInTheDocument();
    expect(screen.getByText('Correct the search above to see connections.')).toBeInTheDocument();

    await new Promise((r) => setTimeout(r, 400));
    expect(connectionCalls(calls)).toHaveLength(1);
  });

  it('shows that the reports are loading', async () => {
    await open({ reports: never });
    expect(screen.getByText("Loading Pam Trexler's location reports…")).toHaveAttribute('role', 'status');
  });

  it('shows that connections are loading', async () => {
    await open({ connections: never });
    expect(await screen.findByText('Looking for people near Pam Trexler…')).toHaveAttribute('role', 'status');
  });

  it('says when no one was near', async () => {
    await open({ connections: () => json(200, []) });
    expect(await screen.findByText(/No one was within 5 m and 15 minutes of Pam Trexler from 2020-07-07 – 2020-08-19/)).toBeInTheDocument();
    expect(document.querySelector('.group-list')).toBeNull();
  });

  it('says when the person has no reports, and asks nothing more', async () => {
    const { calls } = await open({ reports: () => json(200, [] as Location[]) });
    expect(await screen.findByText('Pam Trexler has no location reports yet, so there is no one to connect them with.')).toBeInTheDocument();
    expect(screen.queryByLabelText('Distance (m)')).not.toBeInTheDocument();
    expect(connectionCalls(calls)).toEqual([]);
  });

  it('shows the server’s error and tries again', async () => {
    let answer: Connection[] | null = null;
    const { user } = await open({ connections: () => (answer ? json(200, answer) : json(400, { error: 'distance must be a number of metres above 0 and at most 1000' })) });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The connections could not be loaded. distance must be a number of metres above 0 and at most 1000');

    answer = pamConnections;
    await user.click(within(alert).getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText(/Met 3 people/)).toBeInTheDocument();
  });

  it('keeps the last results on screen, dimmed, while new ones load and after they failed', async () => {
    let next: 'wait' | 'fail' = 'wait';
    const { user } = await open({
      connections: (url) =>
        url.searchParams.get('distance') === '5' ? json(200, pamConnections) : next === 'wait' ? never() : json(500, { error: 'the database is unavailable' }),
    });
    await screen.findByText(/Met 3 people, 5 times/);
    const distance = screen.getByLabelText('Distance (m)');
    await user.clear(distance);
    await user.type(distance, '50');
    expect(await screen.findByText('Looking for people near Pam Trexler…')).toBeInTheDocument();
    expect(screen.getByText(/Met 3 people, 5 times/)).toBeInTheDocument();
    expect(document.querySelector('.results.stale')).not.toBeNull();

    next = 'fail';
    await user.clear(distance);
    await user.type(distance, '60');
    expect(await screen.findByRole('alert')).toHaveTextContent('the database is unavailable');
    expect(screen.getByText(/Met 3 people, 5 times/)).toBeInTheDocument();
    expect(document.querySelector('.results.stale')).not.toBeNull();
  });

  it('shows an error when the reports cannot be loaded', async () => {
    await open({ reports: () => json(404, { error: 'person 1 not found' }) });
    expect(await screen.findByRole('alert')).toHaveTextContent('Pam Trexler\'s location reports could not be loaded. person 1 not found');
  });

  it('draws the reports, clusters the meetings, and highlights the selected person’s points', async () => {
    const { user } = await open();
    await screen.findByText(/Met 3 people/);
    const map = screen.getByRole('region', { name: "Map of Pam Trexler's reports and meetings" });
    // 4 reports and the outline; the 5 meetings, those close together in
    // clusters that are not tab stops.
    expect(count(map, `path[stroke="${colors.own}"]`)).toBe(4);
    expect(count(map, '.leaflet-overlay-pane path:not(.leaflet-interactive)')).toBe(1);
    const clusters = [...map.querySelectorAll<HTMLElement>('.leaflet-marker-icon.cluster')];
    expect(clusters.length).toBeGreaterThan(0);
    expect(clusters.reduce((n, c) => n + Number(c.textContent), 0) + count(map, `path[stroke="${colors.meeting}"]`)).toBe(5);
    expect(clusters.every((c) => c.tabIndex < 0)).toBe(true);
    expect(map.querySelector('.leaflet-control-scale')).not.toBeNull();

    const taco = within(screen.getByRole('list', { name: 'People Pam Trexler met' })).getByRole('button', { name: /Taco Fargo/ });
    await user.click(taco);
    expect(taco).toHaveAttribute('aria-pressed', 'true');
    expect(count(map, `path[stroke="${colors.person}"]`)).toBe(3);
    expect(screen.getByRole('list', { name: 'Meetings with Taco Fargo' }).children).toHaveLength(3);

    await user.click(taco);
    expect(taco).toHaveAttribute('aria-pressed', 'false');
    expect(count(map, `path[stroke="${colors.person}"]`)).toBe(0);
  });
});
