/**
 * The order of tag keys in line protocol: bytewise over UTF-8, which is Unicode code point order. JavaScript's `<`
 * compares UTF-16 code units, which agrees except between a surrogate pair (U+10000 and above) and U+E000–U+FFFF;
 * the standard fix-up below lifts surrogates above that range when both sides are that high.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Whether `s` has a UTF-16 code unit where JavaScript's order and code point order can disagree. */
export function hasHighCodeUnits(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return true;
  return false;
}
