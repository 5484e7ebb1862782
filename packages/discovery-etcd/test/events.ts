import type { Discovery, MembershipEvent } from '@systemge/node';

/** Resolves with the first event `match` accepts (from now on), or rejects after `timeoutMs`. */
export function nextEvent(
  discovery: Discovery,
  match: (event: MembershipEvent) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<MembershipEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(
        new Error(
          `no ${what} within ${timeoutMs} ms; members: ${discovery
            .members()
            .map((m) => m.id)
            .join(', ')}`,
        ),
      );
    }, timeoutMs);
    const unsubscribe = discovery.subscribe((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    });
  });
}

/** Resolves once `check()` holds, checked after each event and at once; rejects after `timeoutMs`. */
export function until(discovery: Discovery, check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  if (check()) return Promise.resolve();
  return nextEvent(discovery, () => check(), what, timeoutMs).then(() => undefined);
}

export const ids = (discovery: Discovery): string[] =>
  discovery
    .members()
    .map((m) => m.id)
    .sort();
