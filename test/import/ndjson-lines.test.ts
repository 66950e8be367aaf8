/**
 * The NDJSON line splitter: numbered lines across chunk boundaries, constant memory for a line over
 * the limit (rejected by number, the next lines go on), an unfinished last line only on a clean end.
 */
import { NdjsonLineSplitter } from '../../src/intake/ndjson-lines.js';

function split(chunks: (string | Buffer)[], max = 100, clean = true) {
  const s = new NdjsonLineSplitter(max);
  const lines = chunks.flatMap((c) => s.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
  return { lines: clean ? [...lines, ...s.end()] : lines, pending: s.pendingBytes };
}

test('lines are numbered across chunk boundaries, blank lines counted, CRLF tolerated', () => {
  const { lines } = split(['{"a":1}\r\n{"b"', ':2}\n\n', '{"c":3}']);
  expect(lines).toEqual([
    { number: 1, text: '{"a":1}' },
    { number: 2, text: '{"b":2}' },
    { number: 3, text: '' },
    { number: 4, text: '{"c":3}' },
  ]);
});

test('a multi-byte character split between chunks is decoded whole', () => {
  const bytes = Buffer.from('{"name":"Zoë Ångström"}\n');
  const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of ë
  const { lines } = split([bytes.subarray(0, cut), bytes.subarray(cut)]);
  expect(lines).toEqual([{ number: 1, text: '{"name":"Zoë Ångström"}' }]);
});

test('a line over the limit is reported by number and size, and the lines after it go on', () => {
  const long = 'x'.repeat(250);
  const { lines } = split(['{"a":1}\n', long.slice(0, 120), long.slice(120), '\n{"b":2}\n'], 100);
  expect(lines).toEqual([{ number: 1, text: '{"a":1}' }, { number: 2, oversize: 250 }, { number: 3, text: '{"b":2}' }]);
});

test('an oversize line within one chunk is reported too', () => {
  const { lines } = split([`${'y'.repeat(101)}\nok\n`], 100);
  expect(lines).toEqual([{ number: 1, oversize: 101 }, { number: 2, text: 'ok' }]);
});

test('when the body breaks off, the unfinished line is held back (never returned) and its bytes are known', () => {
  const { lines, pending } = split(['{"a":1}\n{"kind":"note","rec'], 100, false);
  expect(lines).toEqual([{ number: 1, text: '{"a":1}' }]);
  expect(pending).toBe('{"kind":"note","rec'.length);
});

test('an empty body has no lines; a body ending on a newline has no extra line', () => {
  expect(split([]).lines).toEqual([]);
  expect(split(['a\n']).lines).toEqual([{ number: 1, text: 'a' }]);
});
