import type { StreamingRead } from '@eventstore/db-client';

/**
 * Iterates a client read and cancels the gRPC call when the consumer stops early. Breaking
 * out of `for await` only destroys the client's wrapper stream: the call itself stays open,
 * keeps the server streaming, and makes `client.dispose()` wait forever for it to finish.
 */
export async function* drain<E>(read: StreamingRead<E>): AsyncGenerator<E> {
  let complete = false;
  try {
    for await (const item of read) yield item as E;
    complete = true;
  } finally {
    if (!complete) await read.cancel().catch(() => {});
  }
}
