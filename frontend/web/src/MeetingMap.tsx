import { useEffect, useMemo, useRef, useState } from 'react';
import L from './leaflet';
import 'leaflet.markercluster';
import 'leaflet.markercluster/dist/MarkerCluster.css';
import type { Location } from './api';
import type { ConnectionGroup } from './connections';
import { formatDistance, formatTime, fullName } from './format';
import { tileSettings } from './tiles';
import { useZone } from './zone';

// At most this many of the person's own reports are drawn (the latest).
const MaxOwnPoints = 2000;

// The colours of the map, told apart by hue and lightness, each at least
// 3:1 against the light background map.
export const colors = { own: '#1f5fbf', meeting: '#a34a00', person: '#a8005f', selected: '#111111', outline: '#57606a' };

// The list beside the map is its text alternative: neither a cluster nor a
// marker is a tab stop of its own.
L.MarkerCluster.mergeOptions({ keyboard: false });

interface Props {
  ownerName: string;
  own: Location[];
  groups: ConnectionGroup[];
  selectedID: number | null; // the person whose meetings stand out
  selectedMeeting?: number | null; // the location id of the meeting centred on
  onSelect: (personID: number) => void;
}

// MeetingMap draws the person's own reports, the meetings (clustered) and
// the selected person's meetings above them, with a scale bar. Selecting a
// person fits their meetings in view, selecting a meeting centres it.
export function MeetingMap({ ownerName, own, groups, selectedID, selectedMeeting = null, onSelect }: Props) {
  const zone = useZone();
  const container = useRef<HTMLDivElement>(null);
  const mapRef = useRef<L.Map | null>(null);
  const layers = useRef<{ base: L.LayerGroup; clusters: L.MarkerClusterGroup; selection: L.LayerGroup } | null>(null);
  const select = useRef(onSelect);
  select.current = onSelect;
  const tiles = useMemo(() => tileSettings(), []);
  const [tilesFailed, setTilesFailed] = useState(false);
  // How the view frames the points and the selection: done again when a
  // hidden map (on a phone, while the list has its turn) is shown, since
  // it had no size to frame them in.
  const frame = useRef<{ all?: () => void; selection?: () => void }>({});

  useEffect(() => {
    const map = L.map(container.current!, { center: [30, -100], zoom: 3, zoomSnap: 0.5 });
    if (tiles) {
      L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 19 })
        .on('tileerror', () => setTilesFailed(true))
        .addTo(map);
    }
    L.control.scale({ imperial: false, maxWidth: 150 }).addTo(map);
    // The selection is drawn above the clusters (the marker pane, 600).
    map.createPane('selection').style.zIndex = '650';
    const clusters = L.markerClusterGroup({
      showCoverageOnHover: false,
      chunkedLoading: true,
      maxClusterRadius: 40,
      iconCreateFunction: (c) => {
        const count = document.createElement('span');
        count.textContent = String(c.getChildCount());
        return L.divIcon({ html: count, className: 'cluster', iconSize: [34, 34] });
      },
    });
    layers.current = { base: L.layerGroup().addTo(map), clusters: clusters.addTo(map), selection: L.layerGroup().addTo(map) };
    mapRef.current = map;
    const canvas = container.current!;
    let shown = canvas.clientWidth > 0;
    const resize =
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver(() => {
            map.invalidateSize();
            const was = shown;
            shown = canvas.clientWidth > 0;
            if (shown && !was) (frame.current.selection ?? frame.current.all)?.();
          });
    resize?.observe(canvas);
    return () => {
      resize?.disconnect();
      map.remove();
      mapRef.current = null;
      layers.current = null;
    };
  }, [tiles]);

  // The data: own reports and every meeting, fitted in view.
  useEffect(() => {
    const map = mapRef.current;
    const l = layers.current;
    if (!map || !l) return;
    l.base.clearLayers();
    l.clusters.clearLayers();
    const all: L.LatLngTuple[] = [];
    for (const r of own.slice(-MaxOwnPoints)) {
      const at: L.LatLngTuple = [r.latitude, r.longitude];
      all.push(at);
      L.circleMarker(at, { radius: 3, color: colors.own, weight: 1, fillOpacity: 0.8 })
        .bindTooltip(text(`${ownerName}, ${formatTime(r.creation_time, zone)}`))
        .addTo(l.base);
    }
    const markers: L.Layer[] = [];
    for (const g of groups) {
      for (const m of g.meetings) {
        const at: L.LatLngTuple = [m.location.latitude, m.location.longitude];
        all.push(at);
        markers.push(
          L.circleMarker(at, { radius: 6, color: colors.meeting, weight: 2, fillOpacity: 0.6 })
            .bindTooltip(text(`${fullName(g.person)}, ${formatTime(m.location.creation_time, zone)}, ${formatDistance(m.distance)} apart`))
            .on('click', () => select.current(g.person.id)),
        );
      }
    }
    l.clusters.addLayers(markers);
    frame.current.all = undefined;
    if (all.length > 0) {
      const bounds = L.latLngBounds(all);
      L.rectangle(outline(bounds), { color: colors.outline, weight: 1.5, dashArray: '6 4', fill: false, interactive: false }).addTo(l.base);
      frame.current.all = () => map.fitBounds(outline(bounds), { padding: [24, 24], maxZoom: 18, animate: false });
      frame.current.all();
    }
  }, [ownerName, own, groups, zone]);

  // The selection, above the rest: the selected person's meetings, and the
  // selected meeting ringed and centred.
  useEffect(() => {
    const map = mapRef.current;
    const l = layers.current;
    if (!map || !l) return;
    l.selection.clearLayers();
    frame.current.selection = undefined;
    const g = groups.find((g) => g.person.id === selectedID);
    if (!g) return;
    const at: L.LatLngTuple[] = [];
    for (const m of g.meetings) {
      const p: L.LatLngTuple = [m.location.latitude, m.location.longitude];
      at.push(p);
      const isSelected = m.location.id === selectedMeeting;
      L.circleMarker(p, {
        radius: isSelected ? 11 : 8,
        color: isSelected ? colors.selected : colors.person,
        fillColor: isSelected ? '#ffd400' : colors.person,
        weight: isSelected ? 4 : 3,
        fillOpacity: 0.7,
        pane: 'selection',
      })
        .bindTooltip(text(`${fullName(g.person)}, ${formatTime(m.location.creation_time, zone)}, ${formatDistance(m.distance)} apart`))
        .addTo(l.selection);
    }
    const meeting = g.meetings.find((m) => m.location.id === selectedMeeting);
    if (meeting) frame.current.selection = () => map.setView([meeting.location.latitude, meeting.location.longitude], Math.max(map.getZoom(), 17), { animate: false });
    else if (at.length) frame.current.selection = () => map.fitBounds(outline(L.latLngBounds(at)), { padding: [24, 24], maxZoom: 18, animate: false });
    frame.current.selection?.();
  }, [groups, selectedID, selectedMeeting, zone]);

  return (
    <figure className="map">
      <div ref={container} className="map-canvas" role="region" aria-label={`Map of ${ownerName}'s ${own.length ? 'reports and ' : ''}meetings`} />
      <figcaption>
        {own.length > 0 && <span className="key own">{ownerName}'s reports</span>}
        <span className="key meeting">meetings (numbers: clusters)</span>
        <span className="key person">selected person</span>
        <span className="key selected">selected meeting</span>
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
