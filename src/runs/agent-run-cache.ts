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
  /** The agent row's version (`xmin`, `updated_at`) and the default model: any change to either changes it. */
  readVersion: string;
}

/** Entries per process; the least recently used goes first. */
const MAX_ENTRIES = 10_000;
/** Bytes (roughly: manifest JSON + prompt) the entries may hold together per process. */
const MAX_TOTAL_BYTES = 32 * 1024 * 1024;
/** A larger agent is not kept: it would crowd out many others. */
const MAX_ENTRY_BYTES = 256 * 1024;
/** An entry not used for this long is dropped (memory only: entries are checked on every use). */
const IDLE_MS = 60_000;

/** Same agent row and same org default model: a fresh read would decide exactly as this one. */
export const sameRead = (a: AgentForRun, b: AgentForRun): boolean => a.agent.id === b.agent.id && a.readVersion === b.readVersion;

/**
 * The agents this process ran recently, so that the run endpoint's hot path skips the agent
 * lookup (one PostgreSQL round trip of two). An entry is never trusted blindly: the run's INSERT
 * checks that the agent row and the organization's default model are still the ones read (else
 * the request starts over from a fresh read), and a refusal computed from an entry is computed
 * again from a fresh read. A stale entry costs a round trip, never a different answer.
 */
@Injectable()
export class AgentRunCache {
  private readonly entries = new Map<string, { value: AgentForRun; lastUsed: number; bytes: number }>();
  private totalBytes = 0;

  private static key(orgId: string, path: AgentPath): string {
    return `${orgId}\n${path.scope}\n${path.name}`;
  }

  get(orgId: string, path: AgentPath): AgentForRun | undefined {
    const key = AgentRunCache.key(orgId, path);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = Date.now();
    this.remove(key);
    if (now - entry.lastUsed > IDLE_MS) return undefined;
    // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
    entry.lastUsed = now;
    this.add(key, entry);
    return entry.value;
  }

  set(orgId: string, path: AgentPath, value: AgentForRun): void {
    const key = AgentRunCache.key(orgId, path);
    this.remove(key);
    const bytes = JSON.stringify(value.agent.manifest).length + value.agent.prompt.length;
    if (bytes > MAX_ENTRY_BYTES) return;
    this.add(key, { value, lastUsed: Date.now(), bytes });
    while (this.entries.size > MAX_ENTRIES || this.totalBytes > MAX_TOTAL_BYTES) this.remove(this.entries.keys().next().value!);
  }

  delete(orgId: string, path: AgentPath): void {
    this.remove(AgentRunCache.key(orgId, path));
  }

  private add(key: string, entry: { value: AgentForRun; lastUsed: number; bytes: number }): void {
    this.entries.set(key, entry);
    this.totalBytes += entry.bytes;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }
}
