import { type TSchema, Kind } from '@sinclair/typebox';
import { type ValueError, ValueErrorType, Value } from '@sinclair/typebox/value';
import { isDurationSchema } from './config-schema.js';
import type { ConfigIssue } from './errors.js';

/** A value as an error message shows it: `"text"`, `number 42`, `an object`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** `base` + one more step: `a.b`, `a[0]`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}

/** A JSON pointer of TypeBox (`/nodes/0/sync`) as a field path (`nodes[0].sync`), following `root` to tell indexes from keys. */
function fieldPath(pointer: string, root: unknown, base: string): string {
  let path = base;
  let at: unknown = root;
  if (pointer === '') return path;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(at)) {
      path = joinPath(path, Number(key));
      at = at[Number(key)];
    } else {
      path = joinPath(path, key);
      at = typeof at === 'object' && at !== null && Object.hasOwn(at, key) ? (at as Record<string, unknown>)[key] : undefined;
    }
  }
  return path;
}

const range = (s: Record<string, unknown>): string => {
  const min = s.minimum ?? s.exclusiveMinimum;
  const max = s.maximum ?? s.exclusiveMaximum;
  return `from ${String(min ?? '-∞')} to ${String(max ?? '∞')}`;
};

/** What `schema` expects, in words. */
function expected(schema: TSchema): string {
  const s = schema as Record<string, unknown>;
  switch (schema[Kind]) {
    case 'Integer':
      return isDurationSchema(schema) ? `an integer ${range(s)} ms (the Node.js timer maximum)` : `an integer ${range(s)}`;
    case 'Number':
      return `a number ${range(s)}`;
    case 'String':
      return s.minLength === 1 ? 'a non-empty string' : 'a string';
    case 'Boolean':
      return 'true or false';
    case 'Literal':
      return typeof s.const === 'string' ? `"${s.const}"` : String(s.const);
    case 'Array': {
      const items = typeof s['x-systemge-items'] === 'string' ? ` of ${s['x-systemge-items']}` : '';
      return `${s.minItems === 1 ? 'a non-empty array' : 'an array'}${items}`;
    }
    case 'Record':
      return 'an object of name → value';
    case 'Object':
      return 'an object';
    case 'Union': {
      const variants = (s.anyOf as TSchema[]).map(expected);
      return variants.every((v) => v.startsWith('"')) ? `one of ${variants.join(', ')}` : variants.join(' or ');
    }
    default:
      return typeof s.description === 'string' ? s.description : 'a valid value';
  }
}

/** The issue one TypeBox error stands for (several errors at one path make one issue). */
function issueOf(error: ValueError, path: string): ConfigIssue[] {
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys((error.schema as { properties?: object }).properties ?? {});
      return [{ path, message: `unknown field; known fields: ${known.join(', ')}` }];
    }
    case ValueErrorType.ObjectRequiredProperty:
      return [{ path, message: 'required field is missing' }];
    case ValueErrorType.Union: {
      const value = error.value;
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        return objectVariantIssues(error.schema.anyOf as TSchema[], value, path);
      break;
    }
    default:
      break;
  }
  return [{ path, message: `expected ${expected(error.schema)}, got ${describeValue(error.value)}` }];
}

/** The `const` of a literal property schema, if it is one. */
const constOf = (schema: TSchema | undefined): unknown =>
  schema?.[Kind] === 'Literal' ? (schema as unknown as { const: unknown }).const : undefined;

/**
 * An object that matches no variant of a union: `false` or an object (`listen`) gets the object
 * variant's own errors; variants told apart by a literal field (`kind`) get the errors of the variant
 * that field names, and fields of other variants are "not an option of" the named one.
 */
function objectVariantIssues(variants: TSchema[], value: object, path: string): ConfigIssue[] {
  const objects = variants.filter((v) => v[Kind] === 'Object');
  if (objects.length === 1) return schemaIssues(objects[0] as TSchema, value, path);
  const first = objects[0]?.properties as Record<string, TSchema> | undefined;
  const key = Object.keys(first ?? {}).find((k) =>
    objects.every((v) => constOf((v.properties as Record<string, TSchema>)[k]) !== undefined),
  );
  if (key === undefined) return [{ path, message: `expected ${variants.map(expected).join(' or ')}, got ${describeValue(value)}` }];
  const tags = objects.map((v) => constOf((v.properties as Record<string, TSchema>)[key]));
  const tag = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  const at = joinPath(path, key);
  if (tag === undefined) return [{ path: at, message: 'required field is missing' }];
  const chosen = objects[tags.indexOf(tag)];
  if (chosen === undefined) {
    return [{ path: at, message: `expected one of ${tags.map((t) => JSON.stringify(t)).join(', ')}, got ${describeValue(tag)}` }];
  }
  const elsewhere = new Set(objects.flatMap((v) => Object.keys(v.properties as object)));
  return schemaIssues(chosen, value, path).map((issue) => {
    const field = issue.path.slice(path === '' ? 0 : path.length + 1);
    return issue.message.startsWith('unknown field') && elsewhere.has(field)
      ? { path: issue.path, message: `not an option of "${key}": ${JSON.stringify(tag)}` }
      : issue;
  });
}

/**
 * Every way `value` breaks `schema`, one issue per field, each with its field path under `base`
 * (`nodes[0].sync.timeoutMs`), in document order.
 */
export function schemaIssues(schema: TSchema, value: unknown, base = ''): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    const path = fieldPath(error.path, value, base);
    if (seen.has(path)) continue;
    // A problem inside a field already reported (e.g. a union) is not reported twice.
    if ([...seen].some((p) => path.startsWith(`${p}.`) || path.startsWith(`${p}[`))) continue;
    seen.add(path);
    out.push(...issueOf(error, path));
  }
  return out;
}
