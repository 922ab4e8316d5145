import { Injectable } from '@nestjs/common';
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';

/** Where and how to call a model: an org model configuration or the server default. */
export interface ModelEndpoint {
  baseUrl: string;
  apiKey: string;
  /** The model string sent to the provider. */
  model: string;
  /** US dollars per million tokens, when declared. */
  inputPricePerMTok: number | null;
  outputPricePerMTok: number | null;
}

export interface ChatRequest {
  messages: ChatCompletionMessageParam[];
  /** Asks for JSON matching this schema (`response_format: json_schema`). */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
}

export interface ChatAnswer {
  text: string;
  usage: { inputTokens: number; outputTokens: number };
}

/**
 * A failed model call. `transient` failures (429, 5xx, network) are worth another attempt;
 * the rest (400, 401, 404, …) fail the same way again.
 */
export class ModelCallError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status: number | null = null,
    /** Seconds the provider asked us to wait (`Retry-After`), when it did. */
    readonly retryAfterSeconds: number | null = null,
    /** Tokens the provider billed even though the answer was unusable. */
    readonly usage: ChatAnswer['usage'] = { inputTokens: 0, outputTokens: 0 },
  ) {
    super(message);
    this.name = 'ModelCallError';
  }
}

const CLIENT_CACHE_LIMIT = 100;
const MESSAGE_LIMIT = 500;

const clip = (text: string): string => (text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text);

/**
 * OpenAI-compatible chat completions through the official `openai` client. The client's own
 * retries are off: the executor retries (and logs each attempt) itself. Clients are reused per
 * endpoint and key so keep-alive connections survive between runs.
 */
@Injectable()
export class ModelClient {
  private readonly clients = new Map<string, OpenAI>();

  async complete(endpoint: ModelEndpoint, request: ChatRequest, signal: AbortSignal): Promise<ChatAnswer> {
    const body: ChatCompletionCreateParamsNonStreaming = { model: endpoint.model, messages: request.messages };
    if (request.jsonSchema) {
      body.response_format = {
        type: 'json_schema',
        json_schema: { name: request.jsonSchema.name, schema: request.jsonSchema.schema, strict: false },
      };
    }
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await this.client(endpoint).chat.completions.create(body, { signal });
    } catch (err) {
      throw toModelCallError(err, signal);
    }
    const usage = {
      inputTokens: completion.usage?.prompt_tokens ?? 0,
      outputTokens: completion.usage?.completion_tokens ?? 0,
    };
    const text = completion.choices?.[0]?.message?.content;
    if (typeof text !== 'string') {
      throw new ModelCallError('The model answered without a message.', false, null, null, usage);
    }
    return { text, usage };
  }

  private client(endpoint: ModelEndpoint): OpenAI {
    const key = `${endpoint.baseUrl}\n${endpoint.apiKey}`;
    let client = this.clients.get(key);
    if (!client) {
      // The SDK refuses an empty key; local servers often need none.
      client = new OpenAI({ baseURL: endpoint.baseUrl, apiKey: endpoint.apiKey || 'none', maxRetries: 0, timeout: 1_800_000 });
      this.clients.set(key, client);
      if (this.clients.size > CLIENT_CACHE_LIMIT) this.clients.delete(this.clients.keys().next().value!);
    }
    return client;
  }
}

/** Maps what the SDK throws to a ModelCallError; an abort we asked for is rethrown as is. */
function toModelCallError(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || err instanceof APIUserAbortError) return signal.reason ?? err;
  if (err instanceof APIConnectionError) {
    return new ModelCallError(`Could not reach the model: ${clip(err.message)}`, true);
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const transient = status === 408 || status === 409 || status === 429 || status >= 500;
    // The SDK's message starts with the status already ("503 upstream overloaded").
    const message = err.message.replace(new RegExp(`^${status}\\s*`), '') || 'no details';
    return new ModelCallError(`The model answered ${status}: ${clip(message)}`, transient, status, retryAfter(err.headers));
  }
  return new ModelCallError(`The model call failed: ${clip(err instanceof Error ? err.message : String(err))}`, false);
}

function retryAfter(headers: Headers | undefined): number | null {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms / 1000;
  const raw = headers?.get('retry-after');
  if (!raw) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}
