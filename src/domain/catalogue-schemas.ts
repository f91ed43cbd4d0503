import {
  compileEventSchema,
  describeMismatch,
  type EventValidator,
  type ValidationMode,
} from './event-schema';

/** What the hot path needs of a catalogued type: its schema text, mode and version. */
export interface CatalogueEntry {
  name: string;
  schema: string | null;
  validation: ValidationMode;
  deprecated: boolean;
  version: number;
}

/** An event's data failed its type's schema while validation is `reject`: the text to give back. */
export interface SchemaRejection {
  detail: string;
}

interface Compiled {
  entry: CatalogueEntry;
  /** Null when validation is off, there is no schema, or the stored schema no longer compiles. */
  validate: EventValidator | null;
}

/**
 * The catalogue's compiled schemas, by type name: each schema is compiled when its version is
 * first seen and reused for every event until the version moves. A stored schema that does not
 * compile (it did when it was saved; a newer ajv could differ) validates nothing rather than
 * refusing every event of its type: `problems` lists it for the caller to report.
 */
export class CatalogueSchemas {
  private byName = new Map<string, Compiled>();
  private readonly broken = new Map<string, string>();

  /** Adds or updates one type; compiles only when its version is new here. */
  apply(entry: CatalogueEntry): void {
    const current = this.byName.get(entry.name);
    if (current && current.entry.version === entry.version) {
      current.entry = entry;
      return;
    }
    this.byName.set(entry.name, this.compile(entry));
  }

  remove(name: string): void {
    this.byName.delete(name);
    this.broken.delete(name);
  }

  /** The whole catalogue as now stored: unchanged versions keep their compiled functions. */
  replaceAll(entries: readonly CatalogueEntry[]): void {
    const next = new Map<string, Compiled>();
    for (const entry of entries) {
      const current = this.byName.get(entry.name);
      next.set(
        entry.name,
        current && current.entry.version === entry.version ? { ...current, entry } : this.compile(entry),
      );
    }
    for (const name of this.broken.keys()) if (!next.has(name)) this.broken.delete(name);
    this.byName = next;
  }

  get(name: string): CatalogueEntry | undefined {
    return this.byName.get(name)?.entry;
  }

  entries(): CatalogueEntry[] {
    return [...this.byName.values()]
      .map((compiled) => compiled.entry)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  size(): number {
    return this.byName.size;
  }

  /** Types whose stored schema did not compile here, with the compiler's message. */
  problems(): ReadonlyMap<string, string> {
    return this.broken;
  }

  /** Null unless `type` has a schema in `reject` mode that `data` fails. One map lookup otherwise. */
  check(type: string, data: unknown): SchemaRejection | null {
    const compiled = this.byName.get(type);
    if (compiled?.validate == null) return null;
    const mismatch = compiled.validate(data);
    return mismatch === null ? null : { detail: describeMismatch(type, compiled.entry.version, mismatch) };
  }

  private compile(entry: CatalogueEntry): Compiled {
    this.broken.delete(entry.name);
    if (entry.validation === 'off' || entry.schema === null) return { entry, validate: null };
    let schema: unknown;
    try {
      schema = JSON.parse(entry.schema);
    } catch (error) {
      this.broken.set(entry.name, `stored schema is not JSON: ${(error as Error).message}`);
      return { entry, validate: null };
    }
    const compiled = compileEventSchema(schema);
    if (!compiled.ok) {
      this.broken.set(entry.name, compiled.message);
      return { entry, validate: null };
    }
    return { entry, validate: compiled.validate };
  }
}

/**
 * The exact types of an endpoint's filter that the catalogue does not list: a warning, not a
 * refusal, since a platform team may publish a type before cataloguing it. Patterns (`order.*`,
 * `*`) are not checked, and nothing is while the catalogue is empty (a platform that catalogues
 * nothing would otherwise warn on every endpoint).
 */
export function uncataloguedTypes(
  eventTypes: readonly string[],
  catalogue: { has(name: string): boolean; size(): number },
): string[] {
  if (catalogue.size() === 0) return [];
  return eventTypes.filter((type) => !type.endsWith('*') && !catalogue.has(type));
}
