/**
 * An agent manifest (API.md section 3). The catalogue validates it on every write
 * (see manifest validation); what is stored always has this shape.
 */
export interface AgentManifest {
  description?: string;
  /** Name of one of the organization's models; absent = the org default. */
  model?: string;
  /** 1..1800, default 300. */
  timeoutSeconds?: number;
  input?: {
    schema?: JsonSchema;
    fileConstraints?: Record<string, { accept?: string; maxSize?: number }>;
  };
  output?: { schema?: JsonSchema };
}

export type JsonSchema = Record<string, unknown> | boolean;

export const DEFAULT_TIMEOUT_SECONDS = 300;
export const MAX_TIMEOUT_SECONDS = 1800;
