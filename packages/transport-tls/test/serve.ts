import type { Connection, Listener, ListenOptions, Transport } from '@systemge/protocol';
import { observe, type Observed, type Refusal, type Resources } from './harness.js';

/** A listener whose accepted connections and refusals are queued for the test to await. */
export interface Served {
  listener: Listener;
  accepted: Observed[];
  refusals: Refusal[];
  nextConnection(): Promise<Observed>;
  nextRefusal(): Promise<Refusal>;
}

export async function serve(transport: Transport, resources: Resources, options: Partial<ListenOptions> = {}): Promise<Served> {
  const accepted: Observed[] = [];
  const refusals: Refusal[] = [];
  const connectionWaiters: ((o: Observed) => void)[] = [];
  const refusalWaiters: ((r: Refusal) => void)[] = [];
  let connectionsTaken = 0;
  let refusalsTaken = 0;
  const listener = await transport.listen({
    ...options,
    onConnection(connection: Connection) {
      resources.connection(connection);
      const observed = observe(connection, true);
      accepted.push(observed);
      connectionWaiters.shift()?.(observed);
    },
    onRefused(remote, reason, error) {
      const refusal = { remote, reason, error };
      refusals.push(refusal);
      refusalWaiters.shift()?.(refusal);
    },
  });
  resources.listener(listener);
  return {
    listener,
    accepted,
    refusals,
    nextConnection: () => {
      const ready = accepted[connectionsTaken];
      connectionsTaken++;
      return ready !== undefined ? Promise.resolve(ready) : new Promise((resolve) => connectionWaiters.push(resolve));
    },
    nextRefusal: () => {
      const ready = refusals[refusalsTaken];
      refusalsTaken++;
      return ready !== undefined ? Promise.resolve(ready) : new Promise((resolve) => refusalWaiters.push(resolve));
    },
  };
}
