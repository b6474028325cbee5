import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from './App';
import { json, never, serve, signedIn } from './test/api';
import { people } from './test/fixtures';

function names(): string[] {
  const list = screen.queryByRole('list');
  return list ? within(list).getAllByRole('button').map((b) => b.querySelector('.name')!.textContent!) : [];
}

describe('people', () => {
  it('lists everyone by name with a count', async () => {
    serve({ ...signedIn(), 'GET /api/persons': () => json(200, people) });
    render(<App />);
    expect(await screen.findByText('5 people')).toBeInTheDocument();
    expect(names()).toEqual(['Frank Shader', 'Otto Spring', 'Pam Trexler', 'Paul Badman', 'Taco Fargo']);
    expect(screen.getByText('USDA')).toBeInTheDocument();
  });

  it('searches by name or company, ignoring case and accents', async () => {
    serve({ ...signedIn(), 'GET /api/persons': () => json(200, [...people, { id: 12, first_name: 'José', last_name: 'Núñez', company_name: 'Acme' }]) });
    const user = userEvent.setup();
    render(<App />);
    const search = await screen.findByLabelText('Search by name or company');
    await screen.findByText('6 people');

    await user.type(search, 'usda');
    expect(names()).toEqual(['Frank Shader']);
    expect(screen.getByText('1 of 6 people')).toBeInTheDocument();

    await user.clear(search);
    await user.type(search, 'pa');
    expect(names()).toEqual(['Pam Trexler', 'Paul Badman']);
    expect(screen.getByText('2 of 6 people')).toBeInTheDocument();

    await user.clear(search);
    await user.type(search, 'jose nun');
    expect(names()).toEqual(['José Núñez']);

    await user.clear(search);
    await user.type(search, 'nobody');
    expect(names()).toEqual([]);
    expect(screen.getByText('No one matches “nobody”.')).toBeInTheDocument();
    expect(screen.getByText('0 of 6 people')).toBeInTheDocument();
  });

  it('shows that it is loading', async () => {
    serve({ ...signedIn(), 'GET /api/persons': never });
    render(<App />);
    expect(await screen.findByText('Loading people…')).toHaveAttribute('role', 'status');
  });

  it('says when no one is registered', async () => {
    serve({ ...signedIn(), 'GET /api/persons': () => json(200, []) });
    render(<App />);
    expect(await screen.findByText('0 people')).toBeInTheDocument();
    expect(screen.getByText(/No one is registered yet/)).toBeInTheDocument();
  });

  it('shows an error and tries again', async () => {
    let fail = true;
    serve({ ...signedIn(), 'GET /api/persons': () => (fail ? json(503, { error: 'persons is unavailable' }) : json(200, people)) });
    const user = userEvent.setup();
    render(<App />);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The list of people could not be loaded. persons is unavailable');

    fail = false;
    await user.click(within(alert).getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('5 people')).toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('says when the server cannot be reached', async () => {
    serve({
      ...signedIn(),
      'GET /api/persons': () => {
        throw new TypeError('Failed to fetch');
      },
    });
    render(<App />);
    expect(await screen.findByRole('alert')).toHaveTextContent('The server could not be reached');
  });
});
