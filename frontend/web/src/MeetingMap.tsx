import { useEffect, useMemo, useRef, useState } from 'react';
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import iconUrl from 'leaflet/dist/images/marker-icon.png';
import iconRetinaUrl from 'leaflet/dist/images/marker-icon-2x.png';
import shadowUrl from 'leaflet/dist/images/marker-shadow.png';
import type { Location } from './api';
import type { ConnectionGroup } from './connections';
import { formatDistance, formatTime, fullName } from './format';
import { tileSettings } from './tiles';

// The pin marks the meetings of the selected person; its images are bundled.
const pin = L.icon({
  iconUrl,
  iconRetinaUrl,
  shadowUrl,
  iconSize: [25, 41],
  iconAnchor: [12, 41],
  tooltipAnchor: [12, -28],
  shadowSize: [41, 41],
});

// At most this many of the person's own reports are drawn (the latest).
const MaxOwnPoints = 2000;

const colors = { own: '#1f6feb', meeting: '#d2691e', selected: '#c4132a', outline: '#57606a' };

interface Props {
  ownerName: string;
  own: Location[];
  groups: ConnectionGroup[];
  selectedID: number | null;
  onSelect: (personID: number) => void;
}

export function MeetingMap({ ownerName, own, groups, selectedID, onSelect }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const mapRef = useRef<L.Map | null>(null);
  const layers = useRef<L.LayerGroup | null>(null);
  const select = useRef(onSelect);
  select.current = onSelect;
  const tiles = useMemo(() => tileSettings(), []);
  const [tilesFailed, setTilesFailed] = useState(false);

  useEffect(() => {
    const map = L.map(container.current!, { center: [30, -100], zoom: 3, zoomSnap: 0.5 });
    if (tiles) {
      L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 19 })
        .on('tileerror', () => setTilesFailed(true))
        .addTo(map);
    }
    mapRef.current = map;
    layers.current = L.layerGroup().addTo(map);
    const resize = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => map.invalidateSize());
    resize?.observe(container.current!);
    return () => {
      resize?.disconnect();
      map.remove();
      mapRef.current = null;
    };
  }, [tiles]);

  useEffect(() => {
    const map = mapRef.current;
    const group = layers.current;
    if (!map || !group) return;
    group.clearLayers();
    const all: L.LatLngExpression[] = [];
    const selected: L.LatLngExpression[] = [];

    for (const l of own.slice(-MaxOwnPoints)) {
      const at: L.LatLngTuple = [l.latitude, l.longitude];
      all.push(at);
      L.circleMarker(at, { radius: 4, color: colors.own, weight: 1, fillOpacity: 0.7 })
        .bindTooltip(text(`${ownerName}, ${formatTime(l.creation_time)}`))
        .addTo(group);
    }
    for (const g of groups) {
      const isSelected = g.person.id === selectedID;
      for (const m of g.meetings) {
        const at: L.LatLngTuple = [m.location.latitude, m.location.longitude];
        all.push(at);
        const label = `${fullName(g.person)}, ${formatTime(m.location.creation_time)}, ${formatDistance(m.distance)} away`;
        const marker = L.circleMarker(at, {
          radius: isSelected ? 9 : 6,
          color: isSelected ? colors.selected : colors.meeting,
          weight: isSelected ? 3 : 2,
          fillOpacity: 0.5,
        })
          .bindTooltip(text(label))
          .on('click', () => select.current(g.person.id))
          .addTo(group);
        if (isSelected) {
          selected.push(at);
          marker.bringToFront();
          L.marker(at, { icon: pin, title: label, alt: label, keyboard: true, riseOnHover: true })
            .on('click', () => select.current(g.person.id))
            .addTo(group);
        }
      }
    }
    if (all.length === 0) return;

    const bounds = L.latLngBounds(all);
    L.rectangle(outline(bounds), { color: colors.outline, weight: 1.5, dashArray: '6 4', fill: false, interactive: false }).addTo(group);
    const focus = selected.length > 0 ? L.latLngBounds(selected) : bounds;
    map.fitBounds(outline(focus), { padding: [24, 24], maxZoom: 18, animate: false });
  }, [ownerName, own, groups, selectedID]);

  return (
    <figure className="map">
      <div ref={container} className="map-canvas" role="region" aria-label={`Map of ${ownerName}'s reports and meetings`} />
      <figcaption>
        <span className="key own">{ownerName}'s reports</span>
        <span className="key meeting">meetings</span>
        <span className="key selected">selected person</span>
        {!tiles && <span className="note">No background map is configured: showing the points only.</span>}
        {tiles && tilesFailed && <span className="note">The background map could not be loaded: showing the points only.</span>}
      </figcaption>
    </figure>
  );
}

// text is a tooltip's content as plain text: Leaflet would read a string as
// HTML, and names come from the data.
export function text(s: string): HTMLElement {
  const span = document.createElement('span');
  span.textContent = s;
  return span;
}

// outline pads bounds so that a single point or a tight cluster still gets a
// visible frame: 10% of the span, at least about 30 m.
function outline(b: L.LatLngBounds): L.LatLngBounds {
  const min = 0.0003;
  const dLat = Math.max((b.getNorth() - b.getSouth()) * 0.1, min);
  const dLng = Math.max((b.getEast() - b.getWest()) * 0.1, min);
  return L.latLngBounds([b.getSouth() - dLat, b.getWest() - dLng], [b.getNorth() + dLat, b.getEast() + dLng]);
}
