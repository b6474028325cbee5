import { StrictMode } from 'react';
import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from './App';
import { memoryOutbox } from './outbox';
import { forgetSharing, formatRetention, Sharing } from './Sharing';
import { json, serve, signedIn } from './test/api';
import { people } from './test/fixtures';
import { FakeGeolocation } from './test/geolocation';

function share(props: { retention?: string } = {}) {
  const calls = serve({ 'POST /events': () => new Response(null, { status: 202 }) });
  const geo = new FakeGeolocation();
  const outbox = memoryOutbox();
  const view = () => (
    <StrictMode>
      <Sharing personID={1} geolocation={geo} outbox={outbox} maxAgeS={600} {...props} />
    </StrictMode>
  );
  const page = render(view());
  return { geo, calls, page, view, user: userEvent.setup() };
}

describe('sharing my location', () => {
  afterEach(() => localStorage.clear());

  it('says what is sent, to whom, for how long and how to stop before anything is sent', async () => {
    const { geo, calls } = share({ retention: '30d' });
    for (const said of [/What is sent:.*position and its time/, /To whom:.*organizer/, /How long:.*kept for 30 days, then deleted/, /How to stop:.*Stop sharing/]) {
      expect(screen.getByText((_, el) => el?.tagName === 'LI' && said.test(el.textContent ?? ''))).toBeInTheDocument();
    }
    expect(geo.watches.size).toBe(0);
    expect(calls).toEqual([]);
  });

  it('on, says so with the precision of the last position and sends it; Stop sharing ends it at once', async () => {
    const { geo, calls, user } = share();
    await user.click(screen.getByRole('button', { name: 'Share my location' }));
    expect(geo.watches.size).toBe(1);
    expect(screen.getByRole('status')).toHaveTextContent('Sharing your location. Waiting for your position…');
    act(() => geo.move(37.55363, -122.290883, 3));
    expect(await screen.findByText(/Last position precise to 3\.0 m, at \d\d:\d\d:\d\d\. Last report sent at/)).toBeInTheDocument();
    expect(screen.getByText('Sharing your location · precise to 3.0 m')).toHaveClass('sharing-badge'); // wherever the page is scrolled
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url.pathname).toBe('/events');
    expect(post.headers.get('Content-Type')).toBe('application/cloudevents+json');
    expect(post.body).toMatchObject({ type: 'io.udaconnect.location.reported', data: { person_id: 1, latitude: 37.55363, longitude: -122.290883 } });

    await user.click(screen.getByRole('button', { name: 'Stop sharing' }));
    expect(geo.watches.size).toBe(0);
    expect(screen.getByRole('button', { name: 'Share my location' })).toBeInTheDocument();
    expect(screen.queryByText(/Sharing your location/)).not.toBeInTheDocument();
  });

  it('says why a coarse position is not sent', async () => {
    const { geo, calls, user } = share();
    await user.click(screen.getByRole('button', { name: 'Share my location' }));
    act(() => geo.move(37.55363, -122.290883, 40));
    expect(await screen.findByText(/known to 40 m only, so it is not sent: a meeting is people within 5 m/)).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'POST')).toEqual([]);
  });

  it('says clearly when the location is not allowed', async () => {
    const { geo, user } = share();
    await user.click(screen.getByRole('button', { name: 'Share my location' }));
    act(() => geo.deny());
    expect(screen.getByRole('alert')).toHaveTextContent(/does not let the page know your location.*Allow location for this site/);
    expect(screen.getByRole('button', { name: 'Share my location' })).toBeInTheDocument();
  });

  it('shares again after a reload only when asked to', async () => {
    const first = share();
    await first.user.click(screen.getByRole('button', { name: 'Share my location' }));
    first.page.unmount();
    const again = share();
    expect(again.geo.watches.size).toBe(0); // not asked: off after a reload
    await again.user.click(screen.getByRole('checkbox', { name: 'Keep sharing after a reload' }));
    await again.user.click(screen.getByRole('button', { name: 'Share my location' }));
    again.page.unmount();
    const kept = share();
    expect(kept.geo.watches.size).toBe(1);
    expect(screen.getByRole('button', { name: 'Stop sharing' })).toBeInTheDocument();
    await kept.user.click(screen.getByRole('button', { name: 'Stop sharing' }));
    kept.page.unmount();
    expect(share().geo.watches.size).toBe(0); // stopped: off after a reload
  });

  it('leaves nothing in the browser once the attendee signs out', async () => {
    localStorage.setItem('udaconnect.sharing.1', 'on');
    const outbox = memoryOutbox();
    const time = new Date().toISOString();
    const data = { person_id: 1, latitude: 1, longitude: 2, creation_time: time };
    await outbox.add({ id: 'a', person: 1, taken: Date.now(), event: { specversion: '1.0', id: 'a', source: 's', type: 't', time, datacontenttype: 'application/json', data } });
    await forgetSharing(1, outbox);
    expect(await outbox.list(1)).toEqual([]);
    expect(localStorage.getItem('udaconnect.sharing.1')).toBeNull();
  });

  it('says when the browser cannot tell the location', () => {
    serve({});
    render(<Sharing personID={1} geolocation={undefined} outbox={memoryOutbox()} />);
    expect(screen.getByRole('alert')).toHaveTextContent(/location needs the app opened over https \(or on localhost\)/);
    expect(screen.queryByRole('button', { name: 'Share my location' })).not.toBeInTheDocument();
  });

  it.each([
    ['30d', '30 days'],
    ['720h', '30 days'],
    ['36h', '36 hours'],
    ['1d', '1 day'],
    ['90m', '90m'],
  ])('says a retention of %s as %s', (retention, said) => {
    expect(formatRetention(retention)).toBe(said);
  });
});

describe('who may share', () => {
  function openAs(session: Parameters<typeof signedIn>[0]) {
    serve({ ...signedIn(session), 'GET /api/persons': () => json(200, people), 'GET /api/persons/1/meetings': () => json(200, []) });
    render(<App />);
  }

  it('an attendee has their sharing above their meetings', async () => {
    openAs({ role: 'attendee', person_id: 1, report_max_age_s: 600, retention: '30d' });
    expect(await screen.findByRole('heading', { name: 'Your location' })).toBeInTheDocument();
    expect(await screen.findByRole('heading', { name: 'Whom Pam Trexler met' })).toBeInTheDocument();
  });

  it('the organizer has no such control', async () => {
    window.history.replaceState(null, '', '/persons/1');
    openAs({ role: 'organizer' });
    expect(await screen.findByRole('heading', { name: 'Whom Pam Trexler met' })).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Your location' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Share my location' })).not.toBeInTheDocument();
  });
});
