/** The first non-empty line of a process's diagnostics, trimmed and bounded, for messages. */
export function firstLine(s: string, max = 300): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? '').trim().slice(0, max);
}
