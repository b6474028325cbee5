import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from './App';
import { json, serve, signedIn } from './test/api';
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
    const calls = serve({ ...signedIn(), 'GET /api/persons': () => json(200, people) });
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

  it('shows a problem once a field typed in is left, not before, and none for a field only passed through', async () => {
    serve({ ...signedIn(), 'GET /api/persons': () => json(200, people) });
    const user = await renderApp();
    await user.click(field('First name'));
    await user.tab();
    expect(screen.queryByText('First name is required.')).not.toBeInTheDocument();
    await user.type(field('First name'), 'A');
    await user.clear(field('First name'));
    expect(screen.queryByText('First name is required.')).not.toBeInTheDocument();
    await user.tab();
    expect(screen.getByText('First name is required.')).toBeInTheDocument();
    expect(screen.queryByText('Last name is required.')).not.toBeInTheDocument();
  });

  it('registers a person, who is selected, with their sign-in link', async () => {
    let registered = people;
    const calls = serve({
      ...signedIn(),
      'GET /api/persons': () => json(200, registered),
      'POST /api/persons': (_, body) => {
      registered = [...people, { ...(body as typeof people[0]), id: 42 }];
      return json(201, { id: 42, ...(body as object), token: 'ada-token' });
    },
    });
    const user = await renderApp();

    await user.type(field('First name'), '  Ada ');
    await user.type(field('Last name'), 'Lovelace');
    await user.type(field('Company'), 'Analytical Engines');
    await user.click(screen.getByRole('button', { name: 'Register' }));

    expect(await screen.findByText('Registered Ada Lovelace.')).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.body)).toEqual([
      { first_name: 'Ada', last_name: 'Lovelace', company_name: 'Analytical Engines' },
    ]);
    expect(await screen.findByText('6 people')).toBeInTheDocument();
    expect(window.location.pathname).toBe('/persons/42');
    expect(await screen.findByLabelText('Sign-in link')).toHaveValue(`${location.origin}/#token=ada-token`);
    expect(screen.getByRole('heading', { name: 'Whom Ada Lovelace met' })).toBeInTheDocument();
    expect(field('First name')).toHaveValue('');
    expect(screen.queryByText(/is required/)).not.toBeInTheDocument();
  });

  it('shows the new attendee’s sign-in link and its QR code, once', async () => {
    let n = 0;
    serve({
      ...signedIn(),
      'GET /api/persons': () => json(200, people),
      'POST /api/persons': (_, body) => json(201, { id: 42 + n, ...(body as object), token: `token-${++n}` }),
    });
    const user = await renderApp();
    const register = async (first: string) => {
      await user.type(field('First name'), first);
      await user.type(field('Last name'), 'Lovelace');
      await user.type(field('Company'), 'Analytical Engines');
      await user.click(screen.getByRole('button', { name: 'Register' }));
    };

    await register('Ada');
    const link = await screen.findByLabelText('Sign-in link');
    expect(link).toHaveValue(`${location.origin}/#token=token-1`);
    const qr = await screen.findByRole('img', { name: 'QR code of the sign-in link for Ada Lovelace' });
    expect(qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;charset=utf-8,%3Csvg/);

    // user-event stands in for the clipboard.
    await user.click(screen.getByRole('button', { name: 'Copy link' }));
    expect(await screen.findByText('Copied.')).toBeInTheDocument();
    expect(await navigator.clipboard.readText()).toBe(`${location.origin}/#token=token-1`);

    // Another registration replaces it; Done removes it for good.
    await register('Byron');
    expect(await screen.findByDisplayValue(`${location.origin}/#token=token-2`)).toBeInTheDocument();
    expect(screen.queryByDisplayValue(/token-1/)).not.toBeInTheDocument();
    expect(await screen.findAllByRole('img', { name: /^QR code of the sign-in link for Byron/ })).toHaveLength(1);
    expect(screen.getAllByRole('img', { name: /^QR code/ })).toHaveLength(1);
    await user.click(screen.getByRole('button', { name: 'Done' }));
    expect(screen.queryByLabelText('Sign-in link')).not.toBeInTheDocument();
    expect(screen.queryByRole('img', { name: /^QR code/ })).not.toBeInTheDocument();
    expect(screen.queryByText(/token-/)).not.toBeInTheDocument();
  });

  it('warns of the person just registered, though the search sent as she was registered was answered after it, without her', async () => {
    let registered = people;
    let answerSearch: (() => void) | undefined;
    serve({
      ...signedIn(),
      'GET /api/persons': (url) => {
        const found = registered;
        if (!url.searchParams.has('q') || answerSearch) return json(200, found);
        return new Promise((answer) => (answerSearch = () => answer(json(200, found)))); // the first search waits
      },
      'POST /api/persons': async (_, body) => {
        registered = [...people, { ...(body as typeof people[0]), id: 42 }];
        // The search's answer, from before her, arrives once the app has
        // taken hers in, before it draws again.
        let hops = Promise.resolve();
        for (let i = 0; i < 100; i++) hops = hops.then(() => {});
        void hops.then(() => answerSearch?.());
        return json(201, { id: 42, ...(body as object), token: 'ada-token' });
      },
    });
    const user = await renderApp();
    const fill = async (first: string, last: string) => {
      await user.type(field('First name'), first);
      await user.type(field('Last name'), last);
      await user.type(field('Company'), 'Analytical Engines');
    };

    await fill('Ada', 'Lovelace');
    await user.click(screen.getByRole('button', { name: 'Register' })); // leaving Company searches
    expect(await screen.findByText('Registered Ada Lovelace.')).toBeInTheDocument();

    await fill('ada', 'LOVELACE');
    await user.click(field('First name'));
    expect(await screen.findByText(/^Likely already registered:/)).toHaveTextContent(
      'Likely already registered: Ada Lovelace of Analytical Engines (number 42). Register only if this is someone else.',
    );
  });

  it('shows the server’s refusal under the field it names', async () => {
    serve({
      ...signedIn(),
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
      ...signedIn(),
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
