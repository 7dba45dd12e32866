// QemuOpts / keyval option text (`key=value,key2=value2`, `,,` for a comma), read and written
// as QEMU's util/qemu-option.c does. Pure.

/** One `key=value` of an option argument; `implied` when the key came from the implied first key. */
export interface Param {
  key: string;
  value: string;
  implied: boolean;
}

/**
 * Splits `a,b=c,d=e,,f` the way QemuOpts/keyval do: `,,` is a literal comma; a first element
 * without `=` belongs to `impliedKey`; a later bare `flag` means `flag=on`.
 */
export function splitQemuOpts(text: string, impliedKey: string | null): Param[] {
  const raw: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ',') {
      if (text[i + 1] === ',') {
        cur += ',';
        i++;
      } else {
        raw.push(cur);
        cur = '';
      }
    } else {
      cur += c;
    }
  }
  raw.push(cur);
  if (text === '') return [];
  return raw.map((p, i) => {
    const eq = p.indexOf('=');
    if (eq >= 0) return { key: p.slice(0, eq), value: p.slice(eq + 1), implied: false };
    if (i === 0 && impliedKey !== null) return { key: impliedKey, value: p, implied: true };
    return { key: p, value: 'on', implied: false };
  });
}

/** Escapes a value for a QemuOpts list (`,` → `,,`). */
function esc(value: string): string {
  return value.replaceAll(',', ',,');
}

/** Prints `implied,k=v,…` (the implied value first, bare); the inverse of splitQemuOpts. */
export function joinQemuOpts(implied: string | null, pairs: ReadonlyArray<readonly [string, string]>): string {
  const parts = pairs.map(([k, v]) => `${k}=${esc(v)}`);
  return (implied === null ? parts : [esc(implied), ...parts]).join(',');
}
