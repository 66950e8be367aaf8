/** JSON Pointer (RFC 6901) helpers: problems name the offending field as a pointer into the input. */

/** Escapes one reference token: `~` becomes `~0`, `/` becomes `~1`. */
export function escapeToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Appends tokens to a pointer: `join('/client', 'mrn')` is `/client/mrn`; `join('', 0)` is `/0`. */
export function join(pointer: string, ...tokens: (string | number)[]): string {
  return pointer + tokens.map((t) => `/${escapeToken(t)}`).join('');
}
