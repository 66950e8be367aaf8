/** Small formatting helpers for people: ages, times, counts. */

/** "42 s", "7 min", "3 h 5 min", "2 d 4 h". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** "3 min ago", or "in 20 s" for the future. */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const diff = (now - Date.parse(iso)) / 1000;
  return diff >= 0 ? `${duration(diff)} ago` : `in ${duration(-diff)}`;
}

/** A local date and time, to the second. */
export function when(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function count(n: number | undefined): string {
  return (n ?? 0).toLocaleString();
}

/** `<input type="datetime-local">` value -> ISO instant (local time), or undefined. */
export function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** "1 attempt", "3 attempts". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** A state's reason without the code it starts with ("no-consent: no consent covers ..." -> "no consent covers ..."). */
export function reasonText(reason: string | undefined, code: string | undefined): string {
  if (!reason) return '';
  return code && reason.startsWith(`${code}: `) ? reason.slice(code.length + 2) : reason;
}
