import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { jsonValueProblem, MAX_DATA_DEPTH } from '../domain/event-contract';
import { DomainError } from './domain-error';

/** One level above an event's `data`, which may itself nest MAX_DATA_DEPTH levels. */
export const MAX_REQUEST_DEPTH = MAX_DATA_DEPTH + 1;
const PLAIN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Refuses request values nested deeper than MAX_REQUEST_DEPTH before anything recursive sees them:
 * JSON.parse accepts any nesting, but ValidationPipe (stripProtoKeys), class-transformer and
 * JSON.stringify recurse and overflow the stack, which would answer 500 to a client's bad body.
 * Refuses numbers past the double range too, which JSON.parse turned into Infinity (see
 * OUT_OF_DOUBLE_RANGE). The message names the top-level field the problem is in, like the
 * input topic's dead letters do.
 */
@Injectable()
export class DepthLimitPipe implements PipeTransform {
  transform(value: unknown, metadata?: ArgumentMetadata): unknown {
    const problem = requestProblem(value, requestListsOf(metadata?.metatype));
    if (problem !== null) throw DomainError.invalid(problem);
    return value;
  }
}

/**
 * A body class names its fields that are lists of requests (`static requestLists = ['events']`,
 * PublishBatchDto): each element is checked by itself by its handler, so a bad one refuses only
 * itself, and this pipe bounds only the list's depth.
 */
function requestListsOf(metatype: unknown): readonly string[] {
  const lists = (metatype as { requestLists?: unknown } | undefined)?.requestLists;
  return Array.isArray(lists) ? (lists as string[]) : [];
}

/**
 * What is wrong with a request value (a body, or one event of a batch), or null. Of a field named in
 * `requestLists` only the depth is bounded: one level for the list and one for each element above
 * what an element's own fields may hold.
 */
export function requestProblem(value: unknown, requestLists: readonly string[] = []): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const problem = jsonValueProblem(value, MAX_REQUEST_DEPTH);
    return problem === null ? null : `request ${problem}`;
  }
  for (const [name, field] of Object.entries(value)) {
    const problem = requestLists.includes(name)
      ? jsonValueProblem(field, MAX_REQUEST_DEPTH + 1, false)
      : jsonValueProblem(field, MAX_DATA_DEPTH);
    if (problem !== null)
      return `${PLAIN_NAME.test(name) ? name : JSON.stringify(name.slice(0, 64))} ${problem}`;
  }
  return null;
}
