import { Injectable, type PipeTransform } from '@nestjs/common';
import { exceedsDepth, MAX_DATA_DEPTH } from '../domain/cloud-event';
import { DomainError } from './domain-error';

/** One level above an event's `data`, which may itself nest MAX_DATA_DEPTH levels. */
export const MAX_REQUEST_DEPTH = MAX_DATA_DEPTH + 1;

/**
 * Refuses request values nested deeper than MAX_REQUEST_DEPTH before anything recursive sees them:
 * JSON.parse accepts any nesting, but ValidationPipe (stripProtoKeys), class-transformer and
 * JSON.stringify recurse and overflow the stack, which would answer 500 to a client's bad body.
 */
@Injectable()
export class DepthLimitPipe implements PipeTransform {
  transform(value: unknown): unknown {
    if (exceedsDepth(value, MAX_REQUEST_DEPTH)) {
      throw DomainError.invalid(`request is nested deeper than ${MAX_REQUEST_DEPTH} levels`);
    }
    return value;
  }
}
