import { describe, expect, it } from 'vitest';
import { freePort, startEtcd } from '../src/testing.js';

/** Writes `key` through the v3 JSON gateway of `endpoint`. */
async function put(endpoint: string, key: string, value: string): Promise<void> {
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  const res = await fetch(`${endpoint}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(key), value: b64(value) }) });
  expect(res.status).toBe(200);
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

describe('@systemge/discovery-etcd/testing', () => {
  it('starts a three-member cluster whose members share their keys, and restarts a killed member with its data', async () => {
    const etcd = await startEtcd({ members: 3 });
    try {
      expect(etcd.members.map((m) => m.name)).toEqual(['etcd0', 'etcd1', 'etcd2']);
      expect(new Set(etcd.endpoints).size).toBe(3);
      expect(etcd.endpoint).toBe(etcd.endpoints[0]);
      await put(etcd.endpoints[2] as string, '/app/b', '2');
      await put(etcd.endpoints[1] as string, '/app/a', '1');
      await put(etcd.endpoints[1] as string, '/other/c', '3');
      expect(await etcd.keys('/app/')).toEqual(['/app/a', '/app/b']);
      expect(await etcd.keys('')).toEqual(['/app/a', '/app/b', '/other/c']);

      const first = etcd.members[0];
      if (first === undefined) throw new Error('no member');
      const killed = first.process;
      await first.kill();
      expect(killed.signalCode).toBe('SIGKILL');
      expect(await healthy(first.clientUrl)).toBe(false);
      await first.restart();
      expect(first.process).not.toBe(killed);
      expect(await healthy(first.clientUrl)).toBe(true);
      expect(await etcd.keys('/app/')).toEqual(['/app/a', '/app/b']);
    } finally {
      await etcd.remove();
    }
    expect(etcd.members.every((m) => m.process.exitCode !== null || m.process.signalCode !== null)).toBe(true);
  }, 120_000);

  it('takes the client port it is given, and kill() stops every member', async () => {
    const port = await freePort();
    const etcd = await startEtcd({ clientPort: port });
    try {
      expect(etcd.endpoints).toEqual([`http://127.0.0.1:${port}`]);
      expect(await healthy(etcd.endpoint)).toBe(true);
      await etcd.kill();
      expect(await healthy(etcd.endpoint)).toBe(false);
    } finally {
      await etcd.remove();
    }
  }, 60_000);

  it('refuses a client port for a cluster, and rejects with the cause when etcd cannot start', async () => {
    await expect(startEtcd({ members: 2, clientPort: 2379 })).rejects.toThrow(/clientPort is for one member; members is 2/);
    await expect(startEtcd({ members: 0 })).rejects.toThrow(/members is 0/);
    await expect(startEtcd({ binary: '/nonexistent/etcd' })).rejects.toThrow(/etcd0 exited before it was ready[\s\S]*ENOENT/);
  });
});
