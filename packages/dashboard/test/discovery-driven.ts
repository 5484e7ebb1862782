import { type Discovery, type MemberRecord, MembershipView } from '@systemge/node';

/** A discovery whose member table a test drives directly (joins, leaves, degraded, skipped records). */
export function drivenDiscovery(): { source: Discovery; view: MembershipView } {
  const view = new MembershipView('driven');
  const source: Discovery = {
    kind: 'driven',
    get degraded() {
      return view.degraded;
    },
    start: async (self?: MemberRecord) => view.setSelf(self),
    update: async (self: MemberRecord) => view.setSelf(self),
    stop: async () => view.clear(),
    close: async () => view.end(),
    members: () => view.members(),
    skipped: () => view.skipped(),
    subscribe: (listener) => view.subscribe(listener),
    events: (signal) => view.events(signal),
  };
  return { source, view };
}
