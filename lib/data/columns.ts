/**
 * A table's column names in messages: the list shortened for a wide table
 * without dropping the columns the message is about, and the column a
 * misspelled or miscased name most likely meant ("did you mean"). Shared by
 * the CSV loader, `loadRun(...).embed(rows)` and the command line, so that
 * every message that lists columns reads the same.
 * @module
 */
import { closestKey } from '../util/options';
import { clip, quote } from './limits';

/** A list of at most this many names is shown whole. */
const SHOW_ALL = 20;
/** A longer list shows its first this many names... */
const HEAD = 12;
/** ...and this many names either side of each column the message is about. */
const AROUND = 2;
/**
 * Names are compared on their first characters only: a 5 MB header cell
 * must not cost an edit distance over 5 MB.
 */
const COMPARE_CHARS = 64;

/**
 * The index in `names` of the column `name` most likely meant — the same
 * name in another case or with `_`/`-`/spaces (`Species` for `species`,
 * `petal_width` for `petal width`), a near misspelling, or the start of a
 * longer name (the rules of the options' "did you mean") — or -1 when none
 * is close.
 */
export function guessColumn(name: string, names: readonly string[]): number {
  const cut = (s: string) => s.slice(0, COMPARE_CHARS);
  const short = names.map(cut);
  const guess = closestKey(cut(name), short);
  return guess === undefined ? -1 : short.indexOf(guess);
}

/**
 * `; did you mean "species"?` for the column {@link guessColumn} finds for
 * `name`, or `''` (a list from {@link listColumns} with that column in
 * `focus` shows where it is).
 */
export function didYouMean(name: string, names: readonly string[]): string {
  const j = guessColumn(name, names);
  return j < 0 ? '' : `; did you mean ${quote(names[j])}?`;
}

/**
 * `names` for a message, each cut to a short prefix: all of them when there
 * are at most 20; else the first 12, then each column in `focus` (the ones
 * the message is about: a guessed name, a missing one) with two neighbours
 * either side and its index, the gaps shown as `…`, and the count:
 * `c0, c1, …, c11, …, c98, c99, Species (column 100), c101, c102, … (250 columns)`.
 * A wide table's list is thus never cut before the column the user meant.
 */
export function listColumns(names: readonly string[], focus: readonly number[] = []): string {
  const n = names.length;
  if (n <= SHOW_ALL) return names.map((s) => clip(s)).join(', ');
  const shown = new Set<number>();
  for (let j = 0; j < HEAD; j++) shown.add(j);
  const marked = new Set(focus.filter((j) => Number.isInteger(j) && j >= 0 && j < n));
  for (const f of marked) for (let j = Math.max(0, f - AROUND); j <= Math.min(n - 1, f + AROUND); j++) shown.add(j);
  const order = [...shown].sort((a, b) => a - b);
  const parts: string[] = [];
  let prev = -1;
  for (const j of order) {
    if (j > prev + 1) parts.push('…');
    parts.push(marked.has(j) && j >= HEAD ? `${clip(names[j])} (column ${j})` : clip(names[j]));
    prev = j;
  }
  if (prev < n - 1) parts.push('…');
  return `${parts.join(', ')} (${n} columns)`;
}
