import type { Discovery } from '@systemge/node';

export const ids = (discovery: Discovery): string[] =>
  discovery
    .members()
    .map((m) => m.id)
    .sort();

/** Resolves once `check()` holds, checked now and after each event; rejects after `timeoutMs`. */
export function until(discovery: Discovery, check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`not ${what} within ${timeoutMs} ms; members: ${ids(discovery).join(', ')}`));
    }, timeoutMs);
    const unsubscribe = discovery.subscribe(() => {
      if (!check()) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}
