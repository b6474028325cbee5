import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from './App';
import { colors } from './MeetingMap';
import type { Person } from './api';
import { json, serve, signedIn } from './test/api';
import { meeting, met, pamConnections, pamMeetings, pamReports, people, report } from './test/fixtures';

// A name that would run script if it were ever read as HTML.
const markup = '<img src=x onerror=alert(1)>';
const hostile: Person = { id: 13, first_name: markup, last_name: 'Hostile', company_name: '<b>Evil</b> Inc' };
const hostileName = `${markup} Hostile`;

function noMarkup() {
  expect(document.querySelector('img[src="x"], b')).toBeNull();
}

describe('names from the data', () => {
  it('are shown as text in the list, on the meeting and connection cards and in the map tooltip', async () => {
    serve({
      ...signedIn(),
      'GET /api/persons': () => json(200, [...people, hostile]),
      'GET /api/persons/1/locations': () => json(200, pamReports),
      'GET /api/persons/1/connection': () => json(200, [...pamConnections, met(hostile, report(90, 13, '2020-07-07T10:37:06Z', 37.5539, -122.290883), 3)]),
      'GET /api/persons/1/meetings': () => json(200, [meeting(9, hostile, '2020-09-01T10:00:00Z', '2020-09-01T10:10:00Z'), ...pamMeetings]),
    });
    const user = userEvent.setup();
    render(<App />);

    const list = await screen.findByRole('list');
    const inList = within(list).getByRole('button', { name: /Hostile/ });
    expect(inList.querySelector('.name')!.textContent).toBe(hostileName);
    expect(inList.querySelector('.company')!.textContent).toBe('<b>Evil</b> Inc');
    noMarkup();

    await user.click(within(list).getByRole('button', { name: /Pam Trexler/ }));
    const meetings = await screen.findByRole('list', { name: 'People Pam Trexler met' });
    const row = within(meetings).getByRole('button', { name: /Hostile/ });
    expect(row.querySelector('.name')!.textContent).toBe(hostileName);
    expect(row.querySelector('.company')!.textContent).toBe('<b>Evil</b> Inc');
    noMarkup();

    // Its meetings, opened, name the meeting as text too.
    await user.click(row);
    expect(within(screen.getByRole('list', { name: `Meetings with ${hostileName}` })).getAllByRole('button')).toHaveLength(1);
    noMarkup();

    await user.click(screen.getByRole('link', { name: 'Every report' }));
    const metList = await screen.findByRole('list', { name: 'People Pam Trexler met' });
    const card = within(metList).getByRole('button', { name: /Hostile/ });
    expect(card.querySelector('.name')!.textContent).toBe(hostileName);
    noMarkup();

    // Selected, the meeting is drawn in the selection's colour; hovering it
    // opens its tooltip.
    await user.click(card);
    const point = document.querySelector(`.leaflet-selection-pane path[stroke="${colors.person}"]`)!;
    fireEvent.mouseOver(point);
    const tooltip = document.querySelector('.leaflet-tooltip')!;
    expect(tooltip.textContent).toBe(`${hostileName}, 2020-07-07 10:37, 3.0 m apart`);
    expect(tooltip.querySelectorAll('*').length).toBe(1); // the one span holding the text
    noMarkup();
  });
});
