import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';
import { ATTRIBUTE_RULES, EVENT_TYPE_PATTERN } from '../domain/event-contract';
import { compileEventSchema } from '../domain/event-schema';
import { isHookstreamType } from '../domain/notifications';
import type { EventTypeFieldsDto } from './dto/event-type.dto';
import { EventCatalogue } from './event-catalogue';
import { EventTypesRepository, type EventTypeFields, type EventTypeRow } from './event-types.repository';

/**
 * The catalogue's writes and reads. A schema is compiled before it is stored, so one that does not
 * compile is a 400 with the compiler's message and never reaches the hot path.
 */
@Injectable()
export class EventTypesService {
  constructor(
    private readonly repository: EventTypesRepository,
    private readonly catalogue: EventCatalogue,
  ) {}

  async create(name: string, input: EventTypeFieldsDto): Promise<EventTypeRow> {
    checkName(name);
    const row = await this.repository.insert(name, fieldsOf(input));
    if (!row) throw new DomainError('conflict', `event type ${name} already exists; PUT replaces it`);
    this.catalogue.applied(row);
    return row;
  }

  async put(name: string, input: EventTypeFieldsDto): Promise<{ row: EventTypeRow; created: boolean }> {
    checkName(name);
    const result = await this.repository.upsert(name, fieldsOf(input));
    this.catalogue.applied(result.row);
    return result;
  }

  async remove(name: string): Promise<void> {
    if (!(await this.repository.delete(name))) throw DomainError.notFound(`event type ${name}`);
    this.catalogue.applied({ name, removed: true });
  }

  async get(name: string): Promise<EventTypeRow> {
    const row = EVENT_TYPE_PATTERN.test(name) ? await this.repository.find(name) : null;
    if (!row) throw DomainError.notFound(`event type ${name}`);
    return row;
  }

  /** A page by name; the cursor is the last name, opaque to clients. */
  async list(
    limit = DEFAULT_PAGE_SIZE,
    cursor?: string,
  ): Promise<{ rows: EventTypeRow[]; next: string | null }> {
    const after = cursor === undefined ? null : Buffer.from(cursor, 'base64url').toString('utf8');
    if (after !== null && !EVENT_TYPE_PATTERN.test(after)) throw DomainError.invalid('cursor is not valid');
    const rows = await this.repository.page(limit + 1, after);
    const page = rows.slice(0, limit);
    const next = rows.length > limit ? Buffer.from(page[page.length - 1].name).toString('base64url') : null;
    return { rows: page, next };
  }
}

/**
 * A name the catalogue may hold: a valid type outside the `hookstream.` prefix. Hookstream's own
 * notifications are documented in docs/notifications.md and skip the catalogue; an entry under the
 * prefix could only mislead, or (before this was refused) dead-letter every notification.
 */
function checkName(name: string): void {
  if (!EVENT_TYPE_PATTERN.test(name)) {
    throw DomainError.invalid(`name ${ATTRIBUTE_RULES.type}`);
  }
  if (isHookstreamType(name)) {
    throw DomainError.invalid(
      "name: the prefix hookstream. is reserved for Hookstream's own notifications (docs/notifications.md)",
    );
  }
}

/** The stored fields, the schema compiled first; `reject` needs a schema to reject with. */
function fieldsOf(input: EventTypeFieldsDto): EventTypeFields {
  const schema = input.schema ?? null;
  if (schema !== null) {
    const compiled = compileEventSchema(schema);
    if (!compiled.ok) throw DomainError.invalid(compiled.message);
  }
  const validation = input.validation ?? 'off';
  if (validation === 'reject' && schema === null) {
    throw DomainError.invalid('validation "reject" needs a schema');
  }
  return {
    description: input.description ?? '',
    schema: schema === null ? null : JSON.stringify(schema),
    validation,
    deprecated: input.deprecated ?? false,
  };
}
