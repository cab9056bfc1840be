/**
 * The value of every promise, or the first failure, but only once all have settled: none is
 * left reading a descriptor the caller closes when it sees the failure (or, worse, one whose
 * number the next open() reuses before a sandbox is handed it).
 */
export async function allSettledOrThrow<T extends readonly unknown[]>(ps: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const rs = await Promise.allSettled(ps);
  const failed = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return rs.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
