import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Connections that have not begun a request: opened ahead by a client's connection pool, or kept alive after an answer
 * with nothing sent since. Node's own closing ends only the second kind; the first it leaves to the client, and with
 * its timeout checks stopped by the closing, a pooled connection nobody uses would hold the shutdown until the
 * force-close. Go's http.Server.Shutdown closes both kinds; so does this.
 */
export function trackUnusedConnections(server: Server): { closeUnused(): void } {
  // The bytes a socket had read when it last came to rest (opened, or its last answer done): more since means a request
  // has begun arriving, and is let finish.
  const readAtRest = new Map<Socket, number>();
  const answering = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    readAtRest.set(socket, 0);
    socket.once('close', () => {
      readAtRest.delete(socket);
      answering.delete(socket);
    });
  });
  server.on('request', (request, response) => {
    const socket = request.socket;
    answering.set(socket, (answering.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (answering.get(socket) ?? 1) - 1;
      if (left > 0) answering.set(socket, left);
      else answering.delete(socket);
      if (readAtRest.has(socket)) readAtRest.set(socket, socket.bytesRead);
    });
  });
  return {
    closeUnused(): void {
      for (const [socket, read] of readAtRest) {
        if (!answering.has(socket) && socket.bytesRead === read) socket.destroy();
      }
    },
  };
}
