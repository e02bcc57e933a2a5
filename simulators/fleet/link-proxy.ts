/**
 * A TCP relay between one laptop and the hub that the fleet can cut (every open connection reset, new
 * ones refused) and restore: a network cut as the laptop sees it, without touching either process.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface LinkProxy {
  port: number;
  readonly cut: boolean;
  setCut(cut: boolean): void;
  close(): Promise<void>;
}

export async function startLinkProxy(target: { host: string; port: number }): Promise<LinkProxy> {
  let cut = false;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (cut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    get cut() {
      return cut;
    },
    setCut(v) {
      cut = v;
      if (v) for (const s of [...open]) s.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of [...open]) s.destroy();
        server.close(() => r());
      }),
  };
}
