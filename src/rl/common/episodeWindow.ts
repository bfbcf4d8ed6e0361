import type { EpisodeSummary, UpdateStats } from "./onPolicyAlgorithm.js";

/**
 * The moving window of the last `size` finished episodes behind the `rollout/episodeReturn`,
 * `rollout/episodeLength` and `rollout/episodes` statistics (SB3's `ep_info_buffer` with
 * `stats_window_size`). Shared by the on-policy, off-policy and tabular bases so that every
 * algorithm reports the same keys with the same meaning and saves the window the same way.
 * The episode count is the caller's (the tabular base resets it per `learn`, the others do not).
 */
export class EpisodeWindow {
  private readonly episodes: EpisodeSummary[] = [];

  /** @param size how many of the latest episodes the averages cover (`statsWindowSize`). */
  constructor(readonly size: number) {}

  /** Add a finished episode, dropping the oldest once the window is full. */
  record(episode: EpisodeSummary): void {
    this.episodes.push(episode);
    if (this.episodes.length > this.size) this.episodes.shift();
  }

  /** The `rollout/...` statistics: averages over the window (none before an episode ends) and `episodes`. */
  stats(episodes: number): UpdateStats {
    if (this.episodes.length === 0) return { "rollout/episodes": episodes };
    let sumReturn = 0;
    let sumLength = 0;
    for (const e of this.episodes) {
      sumReturn += e.return;
      sumLength += e.length;
    }
    return {
      "rollout/episodeReturn": sumReturn / this.episodes.length,
      "rollout/episodeLength": sumLength / this.episodes.length,
      "rollout/episodes": episodes,
    };
  }

  /** The episodes in the window, oldest first (a copy, as saved in a checkpoint's `recentEpisodes`). */
  toJSON(): EpisodeSummary[] {
    return this.episodes.slice();
  }

  /** Replace the window with saved `recentEpisodes` (missing = empty), kept as they were saved. */
  restore(saved: EpisodeSummary[] | undefined): void {
    this.episodes.length = 0;
    for (const e of saved ?? []) this.episodes.push(e);
  }
}
