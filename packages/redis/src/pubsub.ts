import { Cluster } from "ioredis";
import type { RedisClient } from "./index.js";

/**
 * Pub/sub on Herd's channels (job replies, cancellations). Each channel carries the `{prefix}`
 * hash tag, so on a Redis Cluster it belongs to the slot of Herd's keys. There sharded pub/sub
 * (SPUBLISH/SSUBSCRIBE, Redis ≥ 7) keeps a message on that slot's master and its replicas, where
 * PUBLISH is relayed over the cluster bus to every node, and a reply carries a whole result
 * (kilobytes of vectors). A cluster of Redis 6.2 answers "unknown command": both sides then use
 * PUBLISH/SUBSCRIBE, and since a worker and an API reach the same cluster they come to the same
 * answer. On a single Redis sharded pub/sub brings nothing, so it is PUBLISH there.
 */
const classicClusters = new WeakSet<Cluster>();

function isUnknownCommand(error: unknown): boolean {
  return error instanceof Error && /unknown command/i.test(error.message);
}

/** Publishes `message` on `channel`: SPUBLISH on a cluster that has it, else PUBLISH. */
export function publishOn(client: RedisClient, channel: string, message: string | Buffer): Promise<unknown> {
  if (!(client instanceof Cluster) || classicClusters.has(client)) return client.publish(channel, message);
  return client.spublish(channel, message).catch((error: unknown) => {
    if (!isUnknownCommand(error)) throw error;
    classicClusters.add(client);
    return client.publish(channel, message);
  });
}

/**
 * Subscribes `client` (a connection made for it, with `shardedPubSub` on a cluster) to `channel`;
 * `onMessage` gets each message's bytes. ioredis subscribes again by itself after a reconnect or,
 * for a sharded subscription, after the slot moved to another master.
 */
export async function subscribeOn(client: RedisClient, channel: string, onMessage: (message: Buffer) => void): Promise<void> {
  const deliver = (from: Buffer, message: Buffer) => {
    if (from.toString() === channel) onMessage(message);
  };
  if (client instanceof Cluster && !classicClusters.has(client)) {
    client.on("smessageBuffer", deliver);
    try {
      await client.ssubscribe(channel);
      return;
    } catch (error) {
      client.off("smessageBuffer", deliver);
      if (!isUnknownCommand(error)) throw error;
      classicClusters.add(client);
    }
  }
  client.on("messageBuffer", deliver);
  await client.subscribe(channel);
}
