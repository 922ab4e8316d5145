import type { ChatCompletionContentPart, ChatCompletionMessageParam } from 'openai/resources/chat/completions';

/** A file uploaded with the run, as the prompt needs it. */
export interface PromptFile {
  id: string;
  field: string;
  filename: string;
  contentType: string;
  size: number;
}

export interface PromptLimits {
  /** Bytes of one text file inlined; the rest is cut with a note. */
  maxTextFileBytes: number;
  /** Images larger than this are described instead of sent. */
  maxImageBytes: number;
}

export const DEFAULT_PROMPT_LIMITS: PromptLimits = { maxTextFileBytes: 100 * 1024, maxImageBytes: 20 * 1024 * 1024 };

/** Image types chat-completions providers accept as data URLs. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const TEXT_TYPES = new Set([
  'application/json',
  'application/ld+json',
  'application/x-ndjson',
  'application/xml',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/csv',
  'application/javascript',
  'application/x-sh',
  'application/sql',
  'application/graphql',
]);

const essence = (type: string): string => type.split(';')[0].trim().toLowerCase();

export type FileTreatment = 'text' | 'image' | 'describe';

/** How a file reaches the model: inlined text, an image data URL, or a one-line description. */
export function fileTreatment(file: Pick<PromptFile, 'contentType' | 'size'>, limits: PromptLimits = DEFAULT_PROMPT_LIMITS): FileTreatment {
  const type = essence(file.contentType);
  if (IMAGE_TYPES.has(type)) return file.size <= limits.maxImageBytes ? 'image' : 'describe';
  if (type.startsWith('text/') || TEXT_TYPES.has(type) || type.endsWith('+json') || type.endsWith('+xml')) return 'text';
  return 'describe';
}

const label = (file: PromptFile): string =>
  `"${file.filename}" (field "${file.field}", file://${file.id}, ${essence(file.contentType)}, ${file.size} bytes)`;

/**
 * The chat messages of a run: the agent's prompt as the system message, the input as the user
 * message. Files follow the input as extra parts of the user message: text files inlined (cut
 * at `maxTextFileBytes`), images as data URLs, anything else described by name, type and size.
 */
export async function buildMessages(options: {
  prompt: string;
  input: Record<string, unknown>;
  files: PromptFile[];
  readFile: (file: PromptFile) => Promise<Buffer>;
  limits?: PromptLimits;
}): Promise<ChatCompletionMessageParam[]> {
  const limits = options.limits ?? DEFAULT_PROMPT_LIMITS;
  const inputText = JSON.stringify(options.input ?? {}, null, 2);
  const system: ChatCompletionMessageParam = { role: 'system', content: options.prompt };
  if (options.files.length === 0) return [system, { role: 'user', content: inputText }];

  const parts: ChatCompletionContentPart[] = [{ type: 'text', text: inputText }];
  for (const file of options.files) {
    const treatment = fileTreatment(file, limits);
    if (treatment === 'describe') {
      parts.push({ type: 'text', text: `Attached file ${label(file)}; its content is not included.` });
      continue;
    }
    const bytes = await options.readFile(file);
    if (treatment === 'image') {
      parts.push({ type: 'image_url', image_url: { url: `data:${essence(file.contentType)};base64,${bytes.toString('base64')}` } });
      continue;
    }
    const cut = bytes.length > limits.maxTextFileBytes;
    const text = new TextDecoder('utf-8', { fatal: false }).decode(cut ? bytes.subarray(0, limits.maxTextFileBytes) : bytes);
    const note = cut ? ` (truncated to its first ${limits.maxTextFileBytes} bytes)` : '';
    parts.push({ type: 'text', text: `File ${label(file)}${note}:\n${text}` });
  }
  return [system, { role: 'user', content: parts }];
}

/**
 * The `json_schema.name` providers require (`^[a-zA-Z0-9_-]{1,64}$`), derived from the agent.
 */
export function schemaName(scope: string, name: string): string {
  const cleaned = `${scope.replace(/^@/, '')}_${name}_output`.replace(/[^a-zA-Z0-9_-]/g, '_');
  return cleaned.slice(0, 64);
}

/**
 * Reads the model's answer as JSON. Models asked for JSON sometimes wrap it in a Markdown
 * code fence anyway; one surrounding fence is tolerated. `ok: false` when it is not JSON.
 */
export function parseJsonAnswer(text: string): { ok: true; value: unknown } | { ok: false } {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/i.exec(trimmed);
  try {
    return { ok: true, value: JSON.parse(fenced ? fenced[1] : trimmed) };
  } catch {
    return { ok: false };
  }
}
