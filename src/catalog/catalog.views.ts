import type { AgentManifest } from './manifest.js';

/**
 * What the catalogue answers with (API.md section 3), as plain shapes: the HTTP layer
 * documents them as DTO classes, the catalogue itself knows nothing of HTTP.
 */
export interface AgentView {
  id: string;
  scope: string;
  name: string;
  manifest: AgentManifest;
  prompt: string;
  /** tag → version. */
  distTags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface VersionSummaryView {
  version: string;
  yanked: boolean;
  createdAt: string;
  /** The dist-tags pointing at this version. */
  tags: string[];
}

export interface VersionView extends VersionSummaryView {
  manifest: AgentManifest;
  prompt: string;
}

export interface DistTagView {
  tag: string;
  version: string;
}

export interface CreateAgentInput {
  scope: string;
  name: string;
  /** Validated by the catalogue (manifest-validator), not by the caller. */
  manifest: unknown;
  prompt: string;
}

export interface UpdateAgentInput {
  manifest?: unknown;
  prompt?: string;
}

export interface PublishVersionInput {
  version: string;
  manifest?: unknown;
  prompt?: string;
}

/** Who writes (versions record their publisher). */
export interface CatalogWriter {
  orgId: string;
  userId: string;
}

/** What a run executes: a published version, or the live agent (`ref: "draft"`). */
export interface ResolvedAgent {
  manifest: AgentManifest;
  prompt: string;
  /** The semver that runs; null for the live agent. */
  version: string | null;
  /** That semver, or `draft` for the live agent. */
  ref: string;
}

export const DRAFT_REF = 'draft';
export const LATEST_TAG = 'latest';
