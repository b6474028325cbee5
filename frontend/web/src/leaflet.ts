import L from 'leaflet';
import 'leaflet/dist/leaflet.css';

// leaflet.markercluster extends the global L: it is set before the plugin
// is loaded (see MeetingMap.tsx).
(window as unknown as { L: typeof L }).L = L;

export default L;
