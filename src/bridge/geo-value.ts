/**
 * Canonical geo answers. A point is `[lat, lon]`, `[lat, lon, alt]` or
 * `[lat, lon, alt, acc]` (the order of the XForms text "lat lon alt acc"); a
 * geotrace or geoshape is an array of points (text "p1;p2;…", a shape's ring
 * closed as the client wrote it). ODK Central's OData gives GeoJSON (or WKT
 * with `$wkt=true`) instead, and both must yield the same arrays as the text.
 *
 * Central drops a zero accuracy from trace and shape points (it writes
 * `accuracy || null`), so inside traces and shapes a zero accuracy is not part
 * of the canonical value: "1 2 3 0" reads as `[1, 2, 3]` and is written back as
 * "1 2 3". A geopoint keeps its zero accuracy (Central keeps it too).
 */

/** The numbers of one point, in text order: lat, lon, then optional alt and acc. */
export type GeoPoint = number[];

const DECIMAL_LITERAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const WKT_POINT = /^POINT\s*\((.*)\)$/;
const WKT_LINESTRING = /^LINESTRING\s*\((.*)\)$/;
const WKT_POLYGON = /^POLYGON\s*\(\((.*)\)\)$/;

/** A finite decimal literal as a number (never -0), or undefined for anything else. */
export function numberFromLiteral(text: string): number | undefined {
  if (!DECIMAL_LITERAL.test(text)) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) return undefined;
  return n === 0 ? 0 : n;
}

/**
 * A finite number as a plain decimal literal with no exponent ("0.0000001",
 * not "1e-7"), the shortest that reads back as the same number.
 */
export function plainNumber(n: number): string {
  const s = String(n === 0 ? 0 : n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign = "", lead = "", frac = "", expText = "0"] = m;
  const exp = Number(expText);
  if (exp >= 0) return sign + lead + frac + "0".repeat(Math.max(0, exp - frac.length));
  return `${sign}0.${"0".repeat(-exp - 1)}${lead}${frac}`;
}

function pointFromParts(parts: readonly string[]): GeoPoint | undefined {
  if (parts.length < 2 || parts.length > 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    const n = numberFromLiteral(p);
    if (n === undefined) return undefined;
    out.push(n);
  }
  return out;
}

/** A trace or shape point without the zero accuracy Central cannot tell from none. */
function tracePoint(p: GeoPoint): GeoPoint {
  return p.length === 4 && p[3] === 0 ? p.slice(0, 3) : p;
}

/** "lat lon [alt [acc]]" as a point, or undefined if it is not 2 to 4 decimal literals. */
export function pointFromText(text: string): GeoPoint | undefined {
  return pointFromParts(text.trim().split(/\s+/));
}

/**
 * "p1;p2;…" as points. "; " separators and one trailing ";" are accepted (and
 * normalised away), as Central accepts them; any other unreadable point gives undefined.
 */
export function traceFromText(text: string): GeoPoint[] | undefined {
  const pieces = text.split(";").map((s) => s.trim());
  if (pieces.length > 1 && pieces[pieces.length - 1] === "") pieces.pop();
  const points: GeoPoint[] = [];
  for (const piece of pieces) {
    const p = pointFromText(piece);
    if (p === undefined) return undefined;
    points.push(tracePoint(p));
  }
  return points;
}

export function pointToText(p: readonly number[]): string {
  return p.map(plainNumber).join(" ");
}

export function traceToText(points: readonly (readonly number[])[]): string {
  return points.map(pointToText).join(";");
}

const isFiniteNumber = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * GeoJSON `[lon, lat, alt?]` plus an accuracy back to text order. Central
 * only writes an accuracy next to an altitude it could read; an accuracy
 * without one has no text form and is dropped.
 */
function pointFromLonLat(coords: unknown, accuracy: unknown): GeoPoint | undefined {
  if (!Array.isArray(coords) || coords.length < 2 || coords.length > 3 || !coords.every(isFiniteNumber)) return undefined;
  const [lon = 0, lat = 0, alt] = coords as number[];
  const p = alt === undefined ? [lat, lon] : [lat, lon, alt];
  if (alt !== undefined && isFiniteNumber(accuracy)) p.push(accuracy);
  return p.map((n) => (n === 0 ? 0 : n));
}

function traceFromLonLats(coords: unknown, accuracies: unknown): GeoPoint[] | undefined {
  if (!Array.isArray(coords)) return undefined;
  const accs: unknown[] = Array.isArray(accuracies) ? accuracies : [];
  const points: GeoPoint[] = [];
  for (const [i, c] of coords.entries()) {
    const p = pointFromLonLat(c, accs[i]);
    if (p === undefined) return undefined;
    points.push(tracePoint(p));
  }
  return points;
}

/**
 * Central's GeoJSON geo value (lib/data/odata.js `submissionToOData`):
 * `{type:"Point", coordinates:[lon,lat,alt?], properties?:{accuracy}}`,
 * `{type:"LineString", coordinates:[[lon,lat,alt?],…], properties?:{accuracies:[acc|null,…]}}`,
 * `{type:"Polygon", coordinates:[[…ring…]], properties?:{accuracies}}`.
 * Returns a point for "Point", points for the others, undefined for any other shape.
 */
export function geoFromGeoJson(v: unknown): GeoPoint | GeoPoint[] | undefined {
  if (!isRecord(v)) return undefined;
  const props = isRecord(v.properties) ? v.properties : {};
  if (v.type === "Point") return pointFromLonLat(v.coordinates, props.accuracy);
  if (v.type === "LineString") return traceFromLonLats(v.coordinates, props.accuracies);
  if (v.type === "Polygon" && Array.isArray(v.coordinates) && v.coordinates.length === 1) {
    return traceFromLonLats(v.coordinates[0], props.accuracies);
  }
  return undefined;
}

function pointFromWkt(text: string): GeoPoint | undefined {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 2 || parts.length > 3) return undefined;
  const nums = parts.map(Number);
  return pointFromLonLat(nums, undefined);
}

/**
 * Central's `$wkt=true` geo value: "POINT (lon lat alt?)", "LINESTRING (lon lat alt?,…)",
 * "POLYGON ((…))". WKT carries no accuracy, so accuracies are lost: poll with GeoJSON.
 * Undefined for text that is not one of these.
 */
export function geoFromWkt(text: string): GeoPoint | GeoPoint[] | undefined {
  const point = WKT_POINT.exec(text);
  if (point) return pointFromWkt(point[1] ?? "");
  const line = WKT_LINESTRING.exec(text) ?? WKT_POLYGON.exec(text);
  if (!line) return undefined;
  const points: GeoPoint[] = [];
  for (const piece of (line[1] ?? "").split(",")) {
    const p = pointFromWkt(piece);
    if (p === undefined) return undefined;
    points.push(p);
  }
  return points;
}
