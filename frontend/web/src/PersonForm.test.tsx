import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from './App';
import { json, serve } from './test/api';
import { people } from './test/fixtures';

async function renderApp() {
  const user = userEvent.setup();
  render(<App />);
  await screen.findByText('5 people');
  return user;
}

function field(label: string) {
  return screen.getByLabelText(label);
}

describe('registering a person', () => {
  it('validates inline and sends nothing while a field is wrong', async () => {
    const calls = serve({ 'GET /api/persons': () => json(200, people) });
    const user = await renderApp();

    await user.click(screen.getByRole('button', { name: 'Register' }));
    expect(screen.getByText('First name is required.')).toBeInTheDocument();
    expect(screen.getByText('Last name is required.')).toBeInTheDocument();
    expect(screen.getByText('Company is required.')).toBeInTheDocument();
    expect(field('First name')).toHaveAttribute('aria-invalid', 'true');
    expect(field('First name')).toHaveAccessibleDescription('First name is required.');
    expect(field('First name')).toHaveFocus();

    await user.type(field('First name'), '   ');
    await user.type(field('Last name'), 'x'.repeat(201));
    await user.type(field('Company'), 'Acme');
    await user.click(screen.getByRole('button', { name: 'Register' }));
    expect(screen.getByText('First name is required.')).toBeInTheDocument();
    expect(screen.getByText('Last name must be at most 200 characters.')).toBeInTheDocument();
    expect(screen.queryByText('Company is required.')).not.toBeInTheDocument();

    expect(calls.filter((c) => c.method === 'POST')).toEqual([]);
  });

  it('shows a problem once the field is left, not before', async () => {
    serve({ 'GET /api/persons': () => json(200, people) });
    const user = await renderApp();
    await user.click(field('First name'));
    expect(screen.queryByText('First name is required.')).not.toBeInTheDocument();
    await user.tab();
    expect(screen.getByText('First name is required.')).toBeInTheDocument();
    expect(screen.queryByText('Last name is required.')).not.toBeInTheDocument();
  });

  it('registers a person, who appears in the list without a reload', async () => {
    const calls = serve({
      'GET /api/persons': () => json(200, people),
      'POST /api/persons': (_, body) => json(201, { id: 42, ...(body as object) }),
    });
    const user = await renderApp();

    await user.type(field('Search by name or company'), 'usda');
    await user.type(field('First name'), '  Ada ');
    await user.type(field('Last name'), 'Lovelace');
    await user.type(field('Company'), 'Analytical Engines');
    await user.click(screen.getByRole('button', { name: 'Register' }));

    expect(await screen.findByText('Registered Ada Lovelace.')).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.body)).toEqual([
      { first_name: 'Ada', last_name: 'Lovelace', company_name: 'Analytical Engines' },
    ]);
    expect(screen.getByText('6 people')).toBeInTheDocument();
    expect(field('Search by name or company')).toHaveValue('');
    expect(within(screen.getByRole('list')).getByRole('button', { name: /Ada Lovelace/ })).toBeInTheDocument();
    expect(field('First name')).toHaveValue('');
    expect(screen.queryByText(/is required/)).not.toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'GET')).toHaveLength(1);
  });

  it('shows the server’s refusal under the field it names', async () => {
    serve({
      'GET /api/persons': () => json(200, people),
      'POST /api/persons': () => json(400, { error: 'company_name is longer than 200 characters' }),
    });
    const user = await renderApp();
    await user.type(field('First name'), 'Ada');
    await user.type(field('Last name'), 'Lovelace');
    await user.type(field('Company'), 'Acme');
    await user.click(screen.getByRole('button', { name: 'Register' }));

    expect(await screen.findByText('company_name is longer than 200 characters')).toBeInTheDocument();
    expect(field('Company')).toHaveAccessibleDescription('company_name is longer than 200 characters');
    expect(field('Company')).toHaveValue('Acme');
  });

  it('shows any other server error', async () => {
    serve({
      'GET /api/persons': () => json(200, people),
      'POST /api/persons': () => json(503, { error: 'the database is unavailable, try again later' }),
    });
    const user = await renderApp();
    await user.type(field('First name'), 'Ada');
    await user.type(field('Last name'), 'Lovelace');
    await user.type(field('Company'), 'Acme');
    await user.click(screen.getByRole('button', { name: 'Register' }));

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'The person could not be registered. the database is unavailable, try again later',
    );
    expect(screen.getByText('5 people')).toBeInTheDocument();
  });
});
