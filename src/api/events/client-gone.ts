import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Calls onLeave once when the client of a long request (a wait, a stream) goes away before its answer is complete: its
 * connection closed, or only half-closed. Gale lets clients half-close (security.ts: the answer under way is still
 * sent), so a client that ends its side is otherwise not noticed until something is written to it, and its wait or
 * stream would hold a slot of the user's for as long. Returns the function that stops listening (the connection may
 * carry more requests after this one).
 */
export function whenClientLeaves(request: IncomingMessage, response: ServerResponse, onLeave: () => void): () => void {
  let left = false;
  const leave = (): void => {
    if (left || response.writableFinished) return;
    left = true;
    onLeave();
  };
  const socket = request.socket;
  response.once('close', leave);
  socket.once('end', leave);
  return () => {
    response.removeListener('close', leave);
    socket.removeListener('end', leave);
  };
}
