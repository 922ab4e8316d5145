import { Injectable } from '@nestjs/common';
import type { AgentPath } from '../catalog/agent-path.js';
import type { Agent } from '../catalog/agent.entity.js';

/** Which model a run uses: an org model (its id) or the server default (null id). */
export interface ChosenModel {
  modelId: string | null;
  model: string;
}

/** What the run endpoint reads of an agent, in one round trip. */
export interface AgentForRun {
  agent: Agent;
  /** The organization's default model, if it has one. */
  orgDefault: ChosenModel | null;
  /** The agent row's version (`xmin`): any write to the row changes it. */
  rowVersion: string;
}

/** Entries per process; the least recently used goes first. */
const MAX_ENTRIES = 10_000;
/** An entry not used for this long is dropped (memory only: entries are checked on every use). */
const IDLE_MS = 60_000;

/**
 * The agents this process ran recently, so that the run endpoint's hot path skips the agent
 * lookup (one PostgreSQL round trip of two). An entry is never trusted blindly: the run's INSERT
 * checks that the agent row and the organization's default model are still the ones read (else
 * the request starts over from a fresh read), and a refusal computed from an entry is computed
 * again from a fresh read. A stale entry costs a round trip, never a different answer.
 */
@Injectable()
export class AgentRunCache {
  private readonly entries = new Map<string, { value: AgentForRun; lastUsed: number }>();

  private static key(orgId: string, path: AgentPath): string {
    return `${orgId}\n${path.scope}\n${path.name}`;
  }

  get(orgId: string, path: AgentPath): AgentForRun | undefined {
    const key = AgentRunCache.key(orgId, path);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = Date.now();
    this.entries.delete(key);
    if (now - entry.lastUsed > IDLE_MS) return undefined;
    // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
    entry.lastUsed = now;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(orgId: string, path: AgentPath, value: AgentForRun): void {
    const key = AgentRunCache.key(orgId, path);
    this.entries.delete(key);
    this.entries.set(key, { value, lastUsed: Date.now() });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(orgId: string, path: AgentPath): void {
    this.entries.delete(AgentRunCache.key(orgId, path));
  }
}
