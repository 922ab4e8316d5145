import { Injectable } from '@nestjs/common';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { Agent, fetch as undiciFetch } from 'undici';
import type { AppConfig } from '../../config/app.config.js';
import { InjectConfig } from '../../config/config.module.js';
import { isLocalHostname, isPrivateAddress } from '../../models/model-url.js';
import { isStorableText, storableText } from '../../common/validation/unstorable-text.js';

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

/** The largest count a run records (its token columns are 32-bit integers). */
export const MAX_TOKENS = 2 ** 31 - 1;

/** A provider's token count as a run records it: a whole number in 0..MAX_TOKENS, anything else 0. */
export function tokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.min(Math.round(value), MAX_TOKENS) : 0;
}

const CLIENT_CACHE_LIMIT = 100;
const MESSAGE_LIMIT = 500;

/** A provider's message as a run's error and log may hold it: bounded, and storable (it is the provider's text). */
const clip = (text: string): string => storableText(text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text);

const PRIVATE_HOST = 'EPRIVATEHOST';
const privateHostMessage =
  'The model’s host is on a private network, which this server does not allow (ALLOW_PRIVATE_MODEL_URLS=false).';
const ANSWER_TOO_LARGE = 'EMODELANSWERTOOLARGE';

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/**
 * `fetch`, reading at most `limit` bytes of a response body: a larger body (declared, or as it
 * streams) fails the call, so a model's answer cannot grow a worker's memory without bound.
 */
export function limitedFetch(base: Fetch, limit: number): Fetch {
  const tooLarge = () => Object.assign(new Error(`The model’s answer exceeds ${limit} bytes (MODEL_MAX_ANSWER_BYTES).`), { code: ANSWER_TOO_LARGE });
  return async (url, init) => {
    const response = await base(url, init);
    if (Number(response.headers.get('content-length')) > limit) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    if (!response.body) return response;
    let seen = 0;
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > limit) controller.error(tooLarge());
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/**
 * DNS lookup for model connections when private networks are forbidden: a name that resolves
 * to a private address is refused when the connection is made, so a name that changed its
 * answer after the model was configured (DNS rebinding) still cannot reach the local network.
 */
export function publicOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    if (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address))) {
      return callback(Object.assign(new Error(`${hostname} resolves to a private address`), { code: PRIVATE_HOST }), []);
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}

/** The error with `code` that `err` is or was caused by, if any. */
function causedBy(err: unknown, code: string): Error | null {
  for (let e = err as { code?: string; cause?: unknown } | undefined, depth = 0; e && depth < 6; e = e.cause as typeof e, depth++) {
    if (e.code === code) return e as Error;
  }
  return null;
}

/**
 * OpenAI-compatible chat completions through the official `openai` client. The client's own
 * retries are off: the executor retries (and logs each attempt) itself. Clients are reused per
 * endpoint and key so keep-alive connections survive between runs.
 */
@Injectable()
export class ModelClient {
  private readonly clients = new Map<string, OpenAI>();
  /** Every call's fetch: bounded answers, and with ALLOW_PRIVATE_MODEL_URLS=false, public addresses only. */
  private readonly fetch: Fetch;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    const dispatcher = config.models.allowPrivateUrls ? null : new Agent({ connect: { lookup: publicOnlyLookup } });
    const base: Fetch = dispatcher
      ? (url, init) => undiciFetch(url, { ...(init as object), dispatcher }) as unknown as Promise<Response>
      : (url, init) => fetch(url, init);
    this.fetch = limitedFetch(base, config.models.maxAnswerBytes);
  }

  async complete(endpoint: ModelEndpoint, request: ChatRequest, signal: AbortSignal): Promise<ChatAnswer> {
    if (!this.config.models.allowPrivateUrls && isLocalHostname(new URL(endpoint.baseUrl).hostname)) throw new ModelCallError(privateHostMessage, false);
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
      inputTokens: tokenCount(completion.usage?.prompt_tokens),
      outputTokens: tokenCount(completion.usage?.completion_tokens),
    };
    const text = completion.choices?.[0]?.message?.content;
    if (typeof text !== 'string') {
      throw new ModelCallError('The model answered without a message.', false, null, null, usage);
    }
    if (!isStorableText(text)) {
      throw new ModelCallError('The model answered with text that cannot be stored (a NUL character or an unpaired surrogate).', false, null, null, usage);
    }
    return { text, usage };
  }

  private client(endpoint: ModelEndpoint): OpenAI {
    const key = `${endpoint.baseUrl}\n${endpoint.apiKey}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new OpenAI({
        baseURL: endpoint.baseUrl,
        // The SDK refuses an empty key; local servers often need none.
        apiKey: endpoint.apiKey || 'none',
        maxRetries: 0,
        timeout: 1_800_000,
        fetch: this.fetch as unknown as typeof fetch,
      });
      this.clients.set(key, client);
      if (this.clients.size > CLIENT_CACHE_LIMIT) this.clients.delete(this.clients.keys().next().value!);
    }
    return client;
  }
}

/** Maps what the SDK throws to a ModelCallError; an abort we asked for is rethrown as is. */
function toModelCallError(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || err instanceof APIUserAbortError) return signal.reason ?? err;
  if (causedBy(err, PRIVATE_HOST)) return new ModelCallError(privateHostMessage, false);
  const tooLarge = causedBy(err, ANSWER_TOO_LARGE);
  if (tooLarge) return new ModelCallError(tooLarge.message, false);
  if (err instanceof APIConnectionError) {
    return new ModelCallError(`Could not reach the model: ${clip(err.message)}`, true);
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    // API.md section 7: 429 and 5xx (and network failures, above); any other answer is final.
    const transient = status === 429 || status >= 500;
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
