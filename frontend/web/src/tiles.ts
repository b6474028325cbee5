// Where the map's background tiles come from. The default is OpenStreetMap.
// VITE_TILE_URL (and VITE_TILE_ATTRIBUTION) set another server when building;
// a ?tiles=URL query parameter overrides it in the browser without a rebuild,
// and ?tiles=none (or an empty VITE_TILE_URL) draws no background at all.

export const OpenStreetMap = {
  url: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
  attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
};

export interface TileSettings {
  url: string;
  attribution: string;
}

export function tileSettings(
  search: string = window.location.search,
  env: { VITE_TILE_URL?: string; VITE_TILE_ATTRIBUTION?: string } = import.meta.env,
): TileSettings | null {
  const url = new URLSearchParams(search).get('tiles') ?? env.VITE_TILE_URL ?? OpenStreetMap.url;
  if (url.trim() === '' || url === 'none') return null;
  const attribution = url === OpenStreetMap.url ? OpenStreetMap.attribution : (env.VITE_TILE_ATTRIBUTION ?? '');
  return { url, attribution };
}
