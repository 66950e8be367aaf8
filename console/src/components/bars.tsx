/**
 * A small bar chart in SVG (attributes only: the CSP forbids inline styles): synced and failed writes
 * per time bucket, stacked.
 */
export interface BarBucket {
  start: string;
  synced: number;
  failed: number;
}

export function ThroughputBars(p: { buckets: BarBucket[]; bucketSeconds: number }) {
  const W = 1200;
  const H = 120;
  const max = Math.max(1, ...p.buckets.map((b) => b.synced + b.failed));
  const w = W / Math.max(1, p.buckets.length);
  const y = (n: number): number => (n / max) * (H - 14);
  const label = (iso: string): string => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return (
    <svg class="bars" viewBox={`0 0 ${W} ${H + 16}`} role="img" aria-label="Records written per time bucket">
      <line x1="0" y1={H} x2={W} y2={H} class="axis" />
      {p.buckets.map((b, i) => (
        <g key={b.start}>
          <title>{`${label(b.start)}: ${b.synced} synced, ${b.failed} failed (${p.bucketSeconds / 60} min)`}</title>
          <rect x={i * w + 2} width={Math.max(1, w - 4)} y={H - y(b.synced)} height={y(b.synced)} class="bar-synced" />
          <rect x={i * w + 2} width={Math.max(1, w - 4)} y={H - y(b.synced) - y(b.failed)} height={y(b.failed)} class="bar-failed" />
          {i % Math.ceil(p.buckets.length / 12) === 0 && (
            <text x={i * w + 2} y={H + 13} class="tick">
              {label(b.start)}
            </text>
          )}
        </g>
      ))}
      <text x={W - 2} y="10" class="tick end">
        {`max ${max}`}
      </text>
    </svg>
  );
}
