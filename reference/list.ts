// Insertion into and removal from the short arrays a stage owns (e820 lists, resource children,
// change points). The same results as `list.splice(at, 0, item)` and `list.splice(at, 1)`, without
// the array splice builds for its return value: on lists of a few entries V8 (Node 20) takes about
// twice as long through splice, and a prediction makes dozens of these edits.

/** `item` at index `at` (0 ≤ at ≤ length); the later elements move up by one. */
export function insertAt<T>(list: T[], at: number, item: T): void {
  let i = list.length;
  list.push(item);
  for (; i > at; i--) list[i] = list[i - 1]!;
  list[at] = item;
}

/** Drops the element at index `at` (0 ≤ at < length); the later elements move down by one. */
export function removeAt<T>(list: T[], at: number): void {
  for (let i = at; i < list.length - 1; i++) list[i] = list[i + 1]!;
  list.pop();
}
