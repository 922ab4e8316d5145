import type { RunFile } from './run-file.entity.js';
import type { Run, RunStatus, TriggerType } from './run.entity.js';

/** A file recorded on a run (API.md section 6). */
export interface RunFileResource {
  id: string;
  field: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
}

/** The Run resource, the same for every API version (API.md section 6). */
export interface RunResource {
  object: 'run';
  id: string;
  status: RunStatus;
  agent: { scope: string; name: string; version: string | null; ref: string };
  input: Record<string, unknown>;
  files: RunFileResource[];
  result: { output: unknown } | null;
  error: string | null;
  errorCode: string | null;
  metadata: Record<string, string>;
  model: string;
  apiVersion: string;
  triggeredBy: { type: TriggerType; userId: string; apiKeyId: string | null; endUserId: string | null };
  usage: { inputTokens: number; outputTokens: number };
  cost: number | null;
  duration: number | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
}

export const presentRunFile = (file: RunFile): RunFileResource => ({
  id: file.id,
  field: file.field,
  filename: file.filename,
  contentType: file.contentType,
  size: Number(file.size),
  sha256: file.sha256,
});

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/**
 * The wire shape of a run and its files (files in upload order: their ids are UUIDv7). Shared
 * by the run endpoint, the read routes, cancel and the event stream, so they never drift.
 */
export function presentRun(run: Run, files: readonly RunFile[]): RunResource {
  return {
    object: 'run',
    id: run.id,
    status: run.status,
    agent: { scope: run.agentScope, name: run.agentName, version: run.agentVersion, ref: run.agentRef },
    input: run.input,
    files: [...files].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(presentRunFile),
    result: run.result,
    error: run.error,
    errorCode: run.errorCode,
    metadata: run.metadata ?? {},
    model: run.model,
    apiVersion: run.apiVersion,
    triggeredBy: {
      type: run.triggeredByType,
      userId: run.userId,
      apiKeyId: run.apiKeyId,
      endUserId: run.endUserId,
    },
    usage: { inputTokens: run.inputTokens ?? 0, outputTokens: run.outputTokens ?? 0 },
    cost: run.cost,
    duration: run.durationMs,
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    completedAt: iso(run.completedAt),
  };
}
