import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiProperty, ApiQuery, getSchemaPath } from '@nestjs/swagger';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { ProblemException } from '../problem/problem.exception.js';

/** The collection envelope of every list route (API.md section 1). */
export interface ListEnvelope<T> {
  object: 'list';
  data: T[];
  hasMore: boolean;
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor: Cursor | null;
}

/** Position after the last item of a page: newest-first lists order by (createdAt, id) descending. */
export interface Cursor {
  createdAt: string;
  id: string;
}

/** A query parameter taken once: undefined when absent, a 400 naming it when repeated. */
export function singleQueryValue(query: Record<string, unknown>, param: string): string | undefined {
  const value = query[param];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ProblemException('invalid_request', `Send ${param} once, as a single value.`, { param });
  return value;
}

/** `?limit=`: an integer from 1 to `max`, `fallback` when absent; otherwise a 400 naming it. */
export function parseLimit(query: Record<string, unknown>, max: number, fallback: number): number {
  const raw = singleQueryValue(query, 'limit');
  if (raw === undefined) return fallback;
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new ProblemException('invalid_request', `limit must be an integer from 1 to ${max}.`, { param: 'limit' });
  }
  return Number(raw);
}

/** Parses `?limit=&cursor=`; anything malformed is a 400 naming the parameter. */
export function parsePageRequest(query: Record<string, unknown>, options: { max?: number; fallback?: number } = {}): PageRequest {
  const limit = parseLimit(query, options.max ?? 100, options.fallback ?? 20);
  const rawCursor = singleQueryValue(query, 'cursor');
  return { limit, cursor: rawCursor === undefined || rawCursor === '' ? null : decodeCursor(rawCursor) };
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** 0001-01-01: PostgreSQL has no year 0, which JavaScript dates do. */
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');

const isRealInstant = (iso: string): boolean => {
  const time = Date.parse(iso);
  return !Number.isNaN(time) && time >= FIRST_INSTANT && new Date(time).toISOString() === iso;
};

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

export function decodeCursor(raw: string): Cursor {
  const invalid = () => new ProblemException('invalid_request', 'cursor is not a cursor this API issued.', { param: 'cursor' });
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(raw)) throw invalid();
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      // Only the exact form encodeCursor writes, so a crafted value never reaches SQL unparseable.
      ISO_INSTANT.test(value[0]) &&
      // A real instant: Date.parse accepts 2026-02-30, which PostgreSQL would refuse.
      isRealInstant(value[0]) &&
      value[1].length > 0 &&
      value[1].length <= 200
    ) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // falls through to the refusal
  }
  throw invalid();
}

/**
 * Builds the envelope from up to `limit + 1` rows fetched newest first: the extra row only
 * tells whether there is a next page.
 */
export function toPage<Row extends { createdAt: Date; id: string | number }, T>(
  rows: Row[],
  limit: number,
  present: (row: Row) => T,
): ListEnvelope<T> {
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return {
    object: 'list',
    data: page.map(present),
    hasMore,
    nextCursor: hasMore && last ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: String(last.id) }) : null,
  };
}

/**
 * Keyset paging, newest first, on an entity with `createdAt` and `id`: rows strictly after the
 * cursor, `limit + 1` of them (see `toPage`). `isId` checks the cursor's id has the column's
 * shape (a UUID column must not receive arbitrary text); a mismatch is a 400 naming `cursor`.
 */
export function applyPage<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  page: PageRequest,
  isId: (id: string) => boolean,
): SelectQueryBuilder<T> {
  if (page.cursor) {
    if (!isId(page.cursor.id)) {
      throw new ProblemException('invalid_request', 'cursor is not a cursor this API issued.', { param: 'cursor' });
    }
    qb.andWhere(`(${alias}.createdAt, ${alias}.id) < (:cursorCreatedAt, :cursorId)`, {
      cursorCreatedAt: page.cursor.createdAt,
      cursorId: page.cursor.id,
    });
  }
  return qb.orderBy(`${alias}.createdAt`, 'DESC').addOrderBy(`${alias}.id`, 'DESC').limit(page.limit + 1);
}

/** OpenAPI shape of the envelope; list routes document `data` items themselves. */
export class ListEnvelopeDto {
  @ApiProperty({ enum: ['list'] }) object: 'list';
  @ApiProperty() hasMore: boolean;
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

/** Documents a cursor-paged list route: `?limit=&cursor=` and its 200, the envelope with `data` items of `item`. */
export function ApiListResponse(item: Type<unknown>, description = 'A page of results, newest first.') {
  return applyDecorators(
    ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } }),
    ApiQuery({
      name: 'cursor',
      required: false,
      description: 'The `nextCursor` of the previous page; absent (or empty) for the first page.',
      schema: { type: 'string' },
    }),
    ApiExtraModels(ListEnvelopeDto, item),
    ApiOkResponse({
      description,
      schema: {
        allOf: [
          { $ref: getSchemaPath(ListEnvelopeDto) },
          { type: 'object', required: ['data'], properties: { data: { type: 'array', items: { $ref: getSchemaPath(item) } } } },
        ],
      },
    }),
  );
}
