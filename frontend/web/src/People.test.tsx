import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { App } from './App';
import type { Person } from './api';
import { json, serve, signedIn } from './test/api';
import { people } from './test/fixtures';

const crowd: Person[] = Array.from({ length: 15 }, (_, i) => ({ id: 100 + i, first_name: `Row${i}`, last_name: 'Crowd', company_name: 'Crowd Inc' }));

describe('the people list', () => {
  it('reads the next page the Link names as its end comes into view', async () => {
    const calls = serve({
      ...signedIn(),
      'GET /api/persons': (url) =>
        url.searchParams.has('after')
          ? json(200, crowd.slice(12))
          : new Response(JSON.stringify(crowd.slice(0, 12)), { headers: { 'Content-Type': 'application/json', Link: '</api/persons?limit=100&after=x>; rel="next"' } }),
    });
    render(<App />);
    expect(await screen.findByText('15 people')).toBeInTheDocument();
    expect(calls.filter((c) => c.url.pathname === '/api/persons').map((c) => c.url.search)).toEqual(['?limit=100', '?limit=100&after=x']);
  });

  it('while a search loads, speaks of the list on screen, dimmed, not of the search', async () => {
    let answer: (r: Response) => void = () => {};
    serve({
      ...signedIn(),
      'GET /api/persons': (url) => (url.searchParams.get('q') ? new Promise((resolve) => (answer = resolve)) : json(200, people)),
    });
    const user = userEvent.setup();
    render(<App />);
    await screen.findByText('5 people');
    await user.type(screen.getByLabelText('Search by name or company'), 'usda');
    expect(document.querySelector('.person-scroll')).toHaveClass('stale');
    expect(document.querySelector('.people .count')).toHaveTextContent(/^5 people$/);
    answer(json(200, people.filter((p) => p.company_name.toLowerCase().includes('usda'))));
    expect(await screen.findByText('1 person found')).toBeInTheDocument();
    expect(document.querySelector('.person-scroll')).not.toHaveClass('stale');
  });

  it('searches on the server, and keeps the last list, dimmed, when a search fails', async () => {
    const calls = serve({
      ...signedIn(),
      'GET /api/persons': (url) => {
        const q = url.searchParams.get('q');
        if (q === 'x') return json(503, { error: 'the database is unavailable, try again later' });
        return json(200, q ? people.filter((p) => p.company_name.toLowerCase().includes(q)) : people);
      },
    });
    const user = userEvent.setup();
    render(<App />);
    await screen.findByText('5 people');
    await user.type(screen.getByLabelText('Search by name or company'), 'usda');
    expect(await screen.findByText('1 person found')).toBeInTheDocument();
    expect(calls.map((c) => c.url.searchParams.get('q')).filter(Boolean)).toContain('usda');
    expect(within(screen.getByRole('list', { name: 'People' })).getAllByRole('button').map((b) => b.textContent)).toEqual(['Frank ShaderUSDA']);

    await user.clear(screen.getByLabelText('Search by name or company'));
    await user.type(screen.getByLabelText('Search by name or company'), 'x');
    expect(await screen.findByRole('alert')).toHaveTextContent('The list of people could not be brought up to date. the database is unavailable, try again later');
    expect(document.querySelector('.person-scroll')).toHaveClass('stale');
    expect(within(screen.getByRole('list', { name: 'People' })).getAllByRole('button').length).toBeGreaterThan(0);
  });
});
