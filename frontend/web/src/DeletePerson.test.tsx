import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from './App';
import { json, serve, signedIn } from './test/api';
import { pamMeetings, people } from './test/fixtures';

// openPam opens Pam Trexler's page as the organizer; del answers her deletion.
function openPam(del: () => Response) {
  let list = people;
  window.history.replaceState(null, '', '/persons/1');
  const calls = serve({
    ...signedIn(),
    'GET /api/persons': () => json(200, list),
    'GET /api/persons/1/meetings': () => json(200, pamMeetings),
    'DELETE /api/persons/1': () => {
      const res = del();
      if (res.ok) list = people.filter((p) => p.id !== 1);
      return res;
    },
  });
  render(<App />);
  return { user: userEvent.setup(), deletes: () => calls.filter((c) => c.method === 'DELETE').map((c) => c.url.pathname) };
}

describe('deleting a person', () => {
  it('asks first, then deletes them and goes back to the list, without them', async () => {
    const { user, deletes } = openPam(() => new Response(null, { status: 204 }));
    await screen.findByText(/^Met 2 people/);
    await user.click(screen.getByRole('button', { name: 'Delete Pam Trexler…' }));
    const confirm = screen.getByRole('group', { name: 'Delete Pam Trexler' });
    expect(confirm).toHaveTextContent('Delete Pam Trexler with their reports and meetings, for everyone? This cannot be undone.');
    expect(within(confirm).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    expect(deletes()).toEqual([]);

    await user.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('group', { name: 'Delete Pam Trexler' })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Delete Pam Trexler…' })).toHaveFocus();

    await user.click(screen.getByRole('button', { name: 'Delete Pam Trexler…' }));
    await user.click(within(screen.getByRole('group', { name: 'Delete Pam Trexler' })).getByRole('button', { name: 'Delete' }));
    expect(await screen.findByText('Deleted Pam Trexler with their reports and meetings.')).toBeInTheDocument();
    expect(deletes()).toEqual(['/api/persons/1']);
    expect(window.location.pathname).toBe('/');
    expect(await screen.findByText('4 people')).toBeInTheDocument();
    expect(within(screen.getByRole('list', { name: 'People' })).queryByRole('button', { name: /Pam Trexler/ })).not.toBeInTheDocument();
  });

  it('says why when it fails, and keeps the person', async () => {
    const { user, deletes } = openPam(() => json(503, { error: 'the database is unavailable' }));
    await screen.findByText(/^Met 2 people/);
    await user.click(screen.getByRole('button', { name: 'Delete Pam Trexler…' }));
    await user.click(within(screen.getByRole('group', { name: 'Delete Pam Trexler' })).getByRole('button', { name: 'Delete' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Pam Trexler could not be deleted. the database is unavailable');
    expect(deletes()).toEqual(['/api/persons/1']);
    expect(window.location.pathname).toBe('/persons/1');
    expect(screen.getByRole('heading', { name: 'Whom Pam Trexler met' })).toBeInTheDocument();
  });
});
