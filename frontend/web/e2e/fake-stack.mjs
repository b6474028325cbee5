// A stand-in for the door while working on the web app without Go or
// PostGIS: serves dist/ and answers the read and register routes of /api from
// the demo seed (db/seed/demo.sql), in memory. Not the real thing: the
// end-to-end test is meant for `make run`; this only lets it (and a person)
// try the app alone.
//
//   npm run build && PORT=8085 npm run fake-stack
//   BASE_URL=http://127.0.0.1:8085 npm run e2e
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const seed = readFileSync(new URL('../../../db/seed/demo.sql', import.meta.url), 'utf8');

const persons = [...seed.matchAll(/\((\d+), '([^']*)', '([^']*)', '((?:[^']|'')*)'\)/g)].map((m) => ({
  id: Number(m[1]),
  first_name: m[2],
  last_name: m[3],
  company_name: m[4].replaceAll("''", "'"),
}));
const locations = [...seed.matchAll(/\((\d+), (\d+), (-?[\d.]+), (-?[\d.]+), '([^']+)'\)/g)]
  .map((m) => ({
    id: Number(m[1]),
    person_id: Number(m[2]),
    latitude: Number(m[3]),
    longitude: Number(m[4]),
    creation_time: new Date(m[5].replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString(),
  }))
  .sort((a, b) => a.creation_time.localeCompare(b.creation_time) || a.id - b.id);

function metres(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLng = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

function duration(s) {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(s);
  return m ? Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5 }[m[2]] : NaN;
}

function connections(id, q) {
  const start = Date.parse(`${q.get('start_date')}T00:00:00Z`);
  const end = Date.parse(`${q.get('end_date')}T00:00:00Z`) + 864e5;
  const distance = Number(q.get('distance') ?? 5);
  const window = q.has('window') ? duration(q.get('window')) : Infinity;
  if (Number.isNaN(start)) return [400, { error: 'start_date must be a date as YYYY-MM-DD' }];
  if (Number.isNaN(end) || end <= start) return [400, { error: 'end_date must not be before start_date' }];
  if (!(distance > 0 && distance <= 10000)) return [400, { error: 'distance must be a number of metres above 0 and at most 10000' }];
  if (!(window > 0)) return [400, { error: 'window must be a duration such as 15m or 1h' }];
  const inRange = (l) => Date.parse(l.creation_time) >= start && Date.parse(l.creation_time) < end;
  const mine = locations.filter((l) => l.person_id === id && inRange(l));
  const found = [];
  for (const l of locations.filter((l) => l.person_id !== id && inRange(l))) {
    const near = mine
      .filter((m) => Math.abs(Date.parse(m.creation_time) - Date.parse(l.creation_time)) <= window)
      .map((m) => metres(m, l))
      .filter((d) => d <= distance);
    if (near.length) found.push({ person: persons.find((p) => p.id === l.person_id), location: l, distance: Math.min(...near) });
  }
  return [200, found];
}

function api(method, path, q, body) {
  if (path === '/api/persons' && method === 'GET') return [200, persons];
  if (path === '/api/persons' && method === 'POST') {
    let p;
    try {
      p = JSON.parse(body);
    } catch {
      return [400, { error: 'the body must be a JSON person' }];
    }
    for (const f of ['first_name', 'last_name', 'company_name']) {
      if (typeof p[f] !== 'string' || !p[f].trim()) return [400, { error: `${f} is required` }];
    }
    const person = { id: Math.max(...persons.map((x) => x.id)) + 1, first_name: p.first_name.trim(), last_name: p.last_name.trim(), company_name: p.company_name.trim() };
    persons.push(person);
    return [201, person];
  }
  const m = /^\/api\/persons\/(\d+)(\/locations|\/connection)?$/.exec(path);
  if (!m || method !== 'GET') return [404, { error: `no route ${method} ${path}` }];
  const id = Number(m[1]);
  if (!persons.some((p) => p.id === id)) return [404, { error: `person ${id} not found` }];
  if (m[2] === '/locations') return [200, locations.filter((l) => l.person_id === id)];
  if (m[2] === '/connection') return connections(id, q);
  return [200, persons.find((p) => p.id === id)];
}

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    if (url.pathname.startsWith('/api/')) {
      const [status, answer] = api(req.method, url.pathname, url.searchParams, body);
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
      return;
    }
    const file = normalize(join(dist, url.pathname === '/' ? 'index.html' : url.pathname));
    let data;
    try {
      data = file.startsWith(dist) ? readFileSync(file) : null;
    } catch {
      data = readFileSync(join(dist, 'index.html'));
    }
    if (!data) return res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'text/html' }).end(data);
  });
});

const port = Number(process.env.PORT ?? 8085);
server.listen(port, '127.0.0.1', () => console.log(`fake stack on http://127.0.0.1:${port} (${persons.length} people, ${locations.length} reports)`));
