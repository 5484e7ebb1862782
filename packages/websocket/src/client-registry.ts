import type { ClientState } from './websocket-client.js';
import { WebSocketConfigError } from './websocket-errors.js';

/** The connected clients by id, and the groups they are in. */
export class ClientRegistry {
  private readonly byId = new Map<string, ClientState>();
  private readonly groupsByName = new Map<string, Set<ClientState>>();

  get size(): number {
    return this.byId.size;
  }

  get groupCount(): number {
    return this.groupsByName.size;
  }

  add(client: ClientState): void {
    this.byId.set(client.id, client);
  }

  /** Forgets a client and takes it out of all its groups. */
  remove(client: ClientState): void {
    this.byId.delete(client.id);
    for (const group of client.groups) this.dropMember(client, group);
    client.groups.clear();
  }

  get(id: string): ClientState | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<ClientState> {
    return this.byId.values();
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** Adds a client to a group (created on first join). False when the id is unknown. */
  join(clientId: string, group: string): boolean {
    const client = this.byId.get(clientId);
    if (client === undefined) return false;
    if (typeof group !== 'string' || group === '') throw new WebSocketConfigError('group', 'must be a non-empty string');
    let members = this.groupsByName.get(group);
    if (members === undefined) {
      members = new Set();
      this.groupsByName.set(group, members);
    }
    members.add(client);
    client.groups.add(group);
    return true;
  }

  /** Removes a client from a group; the group vanishes when empty. False when it was not a member. */
  leave(clientId: string, group: string): boolean {
    const client = this.byId.get(clientId);
    if (client === undefined || !client.groups.delete(group)) return false;
    this.dropMember(client, group);
    return true;
  }

  /** A group's members now (a copy: sending may cut a member off and change the group). */
  members(group: string): ClientState[] {
    return [...(this.groupsByName.get(group) ?? [])];
  }

  groups(): string[] {
    return [...this.groupsByName.keys()];
  }

  /** Group name to member count. */
  groupSizes(): Record<string, number> {
    return Object.fromEntries([...this.groupsByName].map(([name, members]) => [name, members.size]));
  }

  private dropMember(client: ClientState, group: string): void {
    const members = this.groupsByName.get(group);
    if (members === undefined) return;
    members.delete(client);
    if (members.size === 0) this.groupsByName.delete(group);
  }
}
