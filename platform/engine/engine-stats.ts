/**
 * One reading of a container's statistics (Engine API `GET /containers/{id}/stats?stream=false`). Without
 * `one-shot` the engine waits for a second sample, so `precpu_stats` is filled and a CPU percentage can be
 * computed from the one answer (Telegraf's docker input does the same).
 */
import type Docker from 'dockerode';
import { swError } from '../errors.js';
import { engineFailure, isNoSuchContainer, type EngineClient } from './docker-client.js';

export type ContainerStats = Docker.ContainerStats;

/** undefined when the container is gone; throws SW_ENGINE_UNAVAILABLE when the engine fails. */
export async function readStats(client: EngineClient, containerId: string, options: { oneShot?: boolean } = {}): Promise<ContainerStats | undefined> {
  try {
    return await client.api.containerStats(containerId, options.oneShot ?? false);
  } catch (err) {
    if (isNoSuchContainer(err)) return undefined;
    throw swError('SW_ENGINE_UNAVAILABLE', `stats of ${containerId.slice(0, 12)}: ${engineFailure(err)}`, err);
  }
}
