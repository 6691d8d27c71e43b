/**
 * Users are scoped by client (the same e-mail in two accounts is two people for CS), so a
 * "member" is a (client, user) pair, interned to one integer without building a string.
 */
export class Members {
  private readonly byClient = new Map<string, Map<string, number>>();
  readonly clientOf: string[] = [];
  readonly userOf: string[] = [];

  id(clientId: string, userId: string): number {
    let users = this.byClient.get(clientId);
    if (!users) this.byClient.set(clientId, (users = new Map()));
    let m = users.get(userId);
    if (m === undefined) {
      m = this.clientOf.length;
      users.set(userId, m);
      this.clientOf.push(clientId);
      this.userOf.push(userId);
    }
    return m;
  }

  find(clientId: string, userId: string): number | undefined {
    return this.byClient.get(clientId)?.get(userId);
  }

  /** A client's users and their member ids. */
  usersOf(clientId: string): ReadonlyMap<string, number> | undefined {
    return this.byClient.get(clientId);
  }

  get size(): number {
    return this.clientOf.length;
  }

  snapshot(): { clients: string[]; users: string[] } {
    return { clients: [...this.clientOf], users: [...this.userOf] };
  }

  static restore(s: { clients: string[]; users: string[] }): Members {
    const m = new Members();
    for (let i = 0; i < s.clients.length; i++) m.id(s.clients[i]!, s.users[i]!);
    return m;
  }
}
