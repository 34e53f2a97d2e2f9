import { randomUUID } from "node:crypto";
import { decodeReply, type HerdKeys, type JobReply } from "@herd/jobs";
import { coerceError, type Logger } from "@herd/logger";
import { closeRedis, createRedisClient, subscribeOn, type RedisClient, type RedisTarget } from "@herd/redis";

/**
 * This API process's reply channel: workers publish the results of jobs its clients wait for
 * (see @herd/jobs replies.ts). A job gets the channel as `replyTo` only while the subscription
 * is live. A reply lost anyway leaves its waiter on the job's state, which every wait checks once a
 * second (QueueRegistry.waitFor); completion events do not wake a waiter that expects a reply.
 */
export class Replies {
  readonly channel: string;
  readonly #subscriber: RedisClient;
  #onReply: (reply: JobReply) => void = () => undefined;
  #subscribed = false;

  constructor(redis: RedisTarget, keys: HerdKeys, private readonly logger: Logger) {
    this.channel = keys.replies(randomUUID());
    this.#subscriber = createRedisClient({ ...redis, role: "blocking", logger, connectionName: "herd-api-replies", subscriber: true });
    // ioredis subscribes again by itself after a reconnect; until then jobs carry no replyTo.
    this.#subscriber.on("close", () => (this.#subscribed = false));
    this.#subscriber.on("ready", () => (this.#subscribed = true));
    subscribeOn(this.#subscriber, this.channel, (message) => this.#deliver(message))
      .then(() => (this.#subscribed = true))
      .catch((error: unknown) => logger.error({ err: coerceError(error) }, "could not subscribe to job replies; clients are answered from completion events"));
  }

  /** The channel to put on a new job, when replies can reach this process now. */
  get replyTo(): string | undefined {
    return this.#subscribed && this.#subscriber.status === "ready" ? this.channel : undefined;
  }

  /** Where replies go (the QueueRegistry, which knows who waits for which job). */
  onReply(handler: (reply: JobReply) => void): void {
    this.#onReply = handler;
  }

  #deliver(message: Buffer): void {
    const reply = decodeReply(message);
    if (!reply) {
      this.logger.warn({ bytes: message.length }, "ignored a malformed job reply");
      return;
    }
    this.#onReply(reply);
  }

  async close(): Promise<void> {
    await closeRedis(this.#subscriber);
  }
}
