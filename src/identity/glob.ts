/**
 * Anchored glob matching for authorization patterns: `*` matches any run of characters
 * (including none, including "/"), `?` exactly one; everything else is literal. No regular
 * expressions are built from policy text, so no pattern can be slow or mean more than it says.
 */

/** True when `pattern` contains a wildcard; otherwise it is an exact match. */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** Does `value` match `pattern` as a whole? Linear-time two-pointer algorithm with one backtrack point. */
export function globMatch(pattern: string, value: string): boolean {
  const p = Array.from(pattern);
  const v = Array.from(value);
  let pi = 0;
  let vi = 0;
  let starP = -1;
  let starV = 0;
  while (vi < v.length) {
    const pc = p[pi];
    if (pc !== undefined && (pc === '?' || (pc !== '*' && pc === v[vi]))) {
      pi++;
      vi++;
    } else if (pc === '*') {
      starP = pi++;
      starV = vi;
    } else if (starP >= 0) {
      pi = starP + 1;
      vi = ++starV;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

/** Does any pattern of the list match `value`? */
export function anyMatch(patterns: readonly string[], value: string): boolean {
  return patterns.some((pat) => globMatch(pat, value));
}
