/** The environment variable reference (README table, `worker config --env-reference`), derived from the schemas. */
import { fixedEnvironmentKeys, sectionEnvironmentKeys, type SettingsSection } from './env-mapping.js';

interface ZodDefinition {
  readonly type: string;
  readonly innerType?: unknown;
  readonly defaultValue?: unknown;
}

function definitionOf(schema: unknown): ZodDefinition | undefined {
  if (typeof schema !== 'object' || schema === null || !('_zod' in schema)) return undefined;
  return (schema as { _zod: { def: ZodDefinition } })._zod.def;
}

/** The default of a field schema as text, `-` when it has none (optional), `required` otherwise. */
export function describeDefault(schema: unknown): string {
  let definition = definitionOf(schema);
  for (let depth = 0; depth < 10 && definition !== undefined; depth += 1) {
    if (definition.type === 'default' || definition.type === 'prefault') {
      const value = typeof definition.defaultValue === 'function' ? (definition.defaultValue as () => unknown)() : definition.defaultValue;
      return Array.isArray(value) ? value.join(',') : String(value);
    }
    if (definition.type === 'optional') return '-';
    if (definition.type !== 'nullable' && definition.type !== 'readonly') break;
    definition = definitionOf(definition.innerType);
  }
  return 'required';
}

export interface ReferenceRow {
  readonly name: string;
  readonly defaultValue: string;
  readonly meaning: string;
}

export function environmentReference(sections: readonly SettingsSection[]): ReferenceRow[] {
  const rows: ReferenceRow[] = [
    { name: 'WORKER_CONFIG_FILE', defaultValue: '-', meaning: 'JSON configuration file (same nesting as `worker config`); environment variables override it. Also `--config`.' },
    ...fixedEnvironmentKeys.map((key) => ({ name: key.name, defaultValue: key.defaultValue ?? '-', meaning: key.description })),
  ];
  for (const section of sections) {
    const shape = section.schema.shape;
    for (const key of sectionEnvironmentKeys(section)) {
      const fieldName = key.path.slice(section.path.length + 1);
      const reference = section.fieldReference?.[fieldName];
      rows.push({
        name: key.name,
        defaultValue: reference?.defaultValue ?? describeDefault(shape[fieldName]),
        meaning:
          reference !== undefined
            ? `\`${key.path}\` - ${reference.meaning}`
            : `\`${key.path}\` - ${section.description}${section.optional === true ? ' (section optional)' : ''}`,
      });
    }
  }
  return rows;
}

/** A markdown table of {@link environmentReference}. */
export function formatEnvironmentReference(sections: readonly SettingsSection[]): string {
  const escape = (text: string): string => text.replaceAll('|', '\\|');
  return [
    '| Variable | Default | Meaning |',
    '| --- | --- | --- |',
    ...environmentReference(sections).map((row) => `| \`${row.name}\` | ${escape(row.defaultValue)} | ${escape(row.meaning)} |`),
  ].join('\n');
}


