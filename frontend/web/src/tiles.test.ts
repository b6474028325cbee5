import { OpenStreetMap, tileSettings } from './tiles';

describe('tileSettings', () => {
  const cases: { name: string; search: string; env: Record<string, string>; want: ReturnType<typeof tileSettings> }[] = [
    { name: 'OpenStreetMap by default', search: '', env: {}, want: OpenStreetMap },
    {
      name: 'the build setting',
      search: '',
      env: { VITE_TILE_URL: 'http://tiles.local/{z}/{x}/{y}.png', VITE_TILE_ATTRIBUTION: 'Local' },
      want: { url: 'http://tiles.local/{z}/{x}/{y}.png', attribution: 'Local' },
    },
    {
      name: 'the query parameter over the build setting',
      search: '?tiles=http%3A%2F%2Fother%2F%7Bz%7D%2F%7Bx%7D%2F%7By%7D.png',
      env: { VITE_TILE_URL: 'http://tiles.local/{z}/{x}/{y}.png' },
      want: { url: 'http://other/{z}/{x}/{y}.png', attribution: '' },
    },
    { name: 'none', search: '?tiles=none', env: {}, want: null },
    { name: 'an empty build setting', search: '', env: { VITE_TILE_URL: '' }, want: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(tileSettings(c.search, c.env)).toEqual(c.want);
    });
  }
});
