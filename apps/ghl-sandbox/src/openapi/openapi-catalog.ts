import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { API_SPEC_FILES, loadOpenApiDocuments, type OpenApiDocument } from './openapi-files';
import { applyLeniencies, EXTRA_CONTENT_TYPES } from './openapi-leniencies';

const SCHEMA_BASE = 'https://ghl-openapi.sandbox.invalid/';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

export interface ParameterSpec {
  name: string;
  in: 'query' | 'header' | 'path' | 'cookie';
  required: boolean;
  schema: Record<string, unknown>;
}

export interface OpenApiOperation {
  operationId: string;
  method: string;
  pathTemplate: string;
  /** Spec file, e.g. `apps/contacts.json`. */
  file: string;
  parameters: ParameterSpec[];
  /** Accepted `Version` values, or null when the operation declares no Version header. */
  versions: string[] | null;
  /** OpenAPI security requirements (alternatives), or null when the operation is public. */
  security: Array<Record<string, string[]>> | null;
  /** Media type → JSON pointer of the body schema inside `file`. */
  bodies: Map<string, string>;
  bodyRequired: boolean;
  paramNames: string[];
  regex: RegExp;
  /** Higher wins when two templates match one path: fewer parameters, then longer literal text. */
  specificity: number;
}

export interface OperationMatch {
  operation: OpenApiOperation;
  pathParams: Record<string, string>;
}

export type IssueKind = 'required' | 'type' | 'enum' | 'format' | 'unknown' | 'invalid';

export interface ValidationIssue {
  kind: IssueKind;
  in: 'body' | 'query' | 'header' | 'path';
  /** Dotted path of the offending field (`locationId`, `error.code`, `tags`). */
  field: string;
  /** class-validator wording, as GHL's NestJS services answer (GHL-CONTRACT §1, ISSUE #262). */
  message: string;
}

export interface RequestToValidate {
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  pathParams: Record<string, string>;
  /** Media type without parameters, or null when the request had no body. */
  contentType: string | null;
  body: unknown;
  /** Multipart file field names, ignored by the unknown-property check. */
  fileFields?: string[];
}

export interface ValidateOptions {
  rejectUnknownProperties: boolean;
}

function normalisePath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function compileTemplate(template: string): { regex: RegExp; paramNames: string[]; specificity: number } {
  const paramNames: string[] = [];
  let literal = 0;
  const pattern = normalisePath(template)
    .split('/')
    .map((segment) => {
      const param = /^\{(.+)\}$/.exec(segment);
      if (param) {
        paramNames.push(param[1]);
        return '([^/]+)';
      }
      literal += segment.length;
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { regex: new RegExp(`^${pattern}/?$`), paramNames, specificity: literal - paramNames.length * 1000 };
}

/**
 * The official operations the sandbox knows, with request validation compiled from the same files.
 * A request that matches no operation is a 404, as on GHL; one that matches is validated against the
 * operation before any behaviour runs.
 */
export class OpenApiCatalog {
  readonly operations: OpenApiOperation[] = [];
  private readonly byId = new Map<string, OpenApiOperation>();
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly docs: Map<string, OpenApiDocument>;

  constructor(openapiDir: string) {
    this.docs = applyLeniencies(loadOpenApiDocuments(openapiDir));
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    addFormats(this.ajv);
    for (const [file, doc] of this.docs) this.ajv.addSchema(doc, SCHEMA_BASE + file);
    for (const file of API_SPEC_FILES) this.indexOperations(file, this.docs.get(file)!);
    this.operations.sort((a, b) => b.specificity - a.specificity);
  }

  private indexOperations(file: string, doc: OpenApiDocument): void {
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const method of HTTP_METHODS) {
        const op = item[method] as
          | {
              operationId: string;
              parameters?: ParameterSpec[];
              security?: Array<Record<string, string[]>>;
              requestBody?: { required?: boolean; content: Record<string, { schema: { $ref?: string } }> };
            }
          | undefined;
        if (!op) continue;
        const parameters = (op.parameters ?? []).map((p) => ({ ...p, required: p.required === true }));
        const version = parameters.find((p) => p.in === 'header' && p.name.toLowerCase() === 'version');
        const bodies = new Map<string, string>();
        for (const [mediaType, media] of Object.entries(op.requestBody?.content ?? {})) {
          const ref = media.schema?.$ref;
          if (ref?.startsWith('#')) bodies.set(mediaType, ref);
        }
        const firstBody = [...bodies.values()][0];
        for (const extra of EXTRA_CONTENT_TYPES[op.operationId] ?? []) {
          if (firstBody) bodies.set(extra, firstBody);
        }
        const operation: OpenApiOperation = {
          operationId: op.operationId,
          method: method.toUpperCase(),
          pathTemplate: template,
          file,
          parameters,
          versions: version ? ((version.schema.enum as string[] | undefined) ?? null) : null,
          security: op.security && op.security.length > 0 ? op.security : null,
          bodies,
          bodyRequired: op.requestBody?.required === true,
          ...compileTemplate(template),
        };
        this.operations.push(operation);
        this.byId.set(operation.operationId, operation);
      }
    }
  }

  get(operationId: string): OpenApiOperation {
    const op = this.byId.get(operationId);
    if (!op) throw new Error(`unknown operationId ${operationId}`);
    return op;
  }

  match(method: string, path: string): OperationMatch | null {
    for (const operation of this.operations) {
      if (operation.method !== method.toUpperCase()) continue;
      const m = operation.regex.exec(path);
      if (!m) continue;
      const pathParams: Record<string, string> = {};
      operation.paramNames.forEach((name, i) => {
        pathParams[name] = decodeURIComponent(m[i + 1]);
      });
      return { operation, pathParams };
    }
    return null;
  }

  /** Compiles the body validators of these operations now, so first requests are not slow. */
  warmUp(operationIds: string[]): void {
    for (const id of operationIds) {
      const op = this.get(id);
      for (const pointer of op.bodies.values()) this.validatorFor(op.file, pointer);
    }
  }

  private validatorFor(file: string, pointer: string): ValidateFunction {
    const key = `${file}${pointer}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${SCHEMA_BASE}${file}${pointer}` });
      this.validators.set(key, validate);
    }
    return validate;
  }

  private paramValidator(op: OpenApiOperation, param: ParameterSpec): ValidateFunction {
    const key = `${op.operationId}:${param.in}:${param.name}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(param.schema);
      this.validators.set(key, validate);
    }
    return validate;
  }

  private schemaAt(file: string, pointer: string): Record<string, unknown> | undefined {
    let node: unknown = this.docs.get(file);
    for (const part of pointer.replace(/^#\//, '').split('/')) {
      node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    return node as Record<string, unknown> | undefined;
  }

  /**
   * Checks a response body against the schema the spec documents for that status; used by the
   * sandbox's own tests to prove its answers keep the official shapes. Null when the spec documents
   * no JSON schema for the status.
   */
  validateResponse(op: OpenApiOperation, status: number, body: unknown): ValidationIssue[] | null {
    const escape = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
    const pointer = `#/paths/${escape(op.pathTemplate)}/${op.method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
    if (!this.schemaAt(op.file, pointer)) return null;
    const validate = this.validatorFor(op.file, pointer);
    return validate(body) ? [] : toIssues(validate.errors ?? [], 'body');
  }

  /** Every problem with the request's parameters and body, in class-validator wording. */
  validate(op: OpenApiOperation, req: RequestToValidate, options: ValidateOptions): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    for (const param of op.parameters) {
      if (param.in === 'header' && param.name.toLowerCase() === 'version') continue; // checked earlier (401)
      const raw =
        param.in === 'query'
          ? req.query[param.name]
          : param.in === 'header'
            ? req.headers[param.name.toLowerCase()]
            : param.in === 'path'
              ? req.pathParams[param.name]
              : undefined;
      const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
      if (value === undefined || value === '') {
        if (param.required) {
          issues.push({
            kind: 'required',
            in: param.in as ValidationIssue['in'],
            field: param.name,
            message: `${param.name} should not be empty`,
          });
        }
        continue;
      }
      const coerced = coerceParameter(value, param.schema);
      const validate = this.paramValidator(op, param);
      if (!validate(coerced)) {
        issues.push(...toIssues(validate.errors ?? [], param.in as ValidationIssue['in'], param.name));
      }
    }
    if (options.rejectUnknownProperties) {
      const declared = new Set(op.parameters.filter((p) => p.in === 'query').map((p) => p.name));
      for (const name of Object.keys(req.query)) {
        if (!declared.has(name)) {
          issues.push({
            kind: 'unknown',
            in: 'query',
            field: name,
            message: `property ${name} should not exist`,
          });
        }
      }
    }

    if (op.bodies.size > 0) {
      const pointer = (req.contentType && op.bodies.get(req.contentType)) || null;
      // A body in a media type the operation does not take is not parsed by GHL's NestJS services:
      // every required field is then missing.
      const body = pointer ? (req.body ?? {}) : {};
      const schemaPointer = pointer ?? [...op.bodies.values()][0];
      const validate = this.validatorFor(op.file, schemaPointer);
      if (!validate(body)) issues.push(...toIssues(validate.errors ?? [], 'body'));
      if (options.rejectUnknownProperties && body && typeof body === 'object' && !Array.isArray(body)) {
        const schema = this.schemaAt(op.file, schemaPointer);
        const properties = schema?.properties as Record<string, unknown> | undefined;
        if (properties) {
          const allowed = new Set([...Object.keys(properties), ...(req.fileFields ?? [])]);
          for (const key of Object.keys(body)) {
            if (!allowed.has(key)) {
              issues.push({
                kind: 'unknown',
                in: 'body',
                field: key,
                message: `property ${key} should not exist`,
              });
            }
          }
        }
      }
    }
    const seen = new Set<string>();
    return issues.filter((issue) => (seen.has(issue.message) ? false : (seen.add(issue.message), true)));
  }
}

function coerceParameter(value: string, schema: Record<string, unknown>): unknown {
  switch (schema.type) {
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    case 'number':
    case 'integer':
      return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
    default:
      return value;
  }
}

const TYPE_WORDING: Record<string, string> = {
  string: 'a string',
  number: 'a number conforming to the specified constraints',
  integer: 'an integer number',
  boolean: 'a boolean value',
  array: 'an array',
  object: 'an object',
};

function describeTypes(type: unknown): string {
  const types = (Array.isArray(type) ? type : [type]) as string[];
  return types.map((t) => TYPE_WORDING[t] ?? t).join(' or ');
}

/** Turns ajv errors into class-validator style messages that name the field. */
export function toIssues(
  errors: ErrorObject[],
  where: ValidationIssue['in'],
  root?: string,
): ValidationIssue[] {
  const segmentsOf = (instancePath: string): string[] => [
    ...(root ? [root] : []),
    ...instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')),
  ];
  // anyOf/oneOf failures report every branch; keep only the summary for that field.
  const unions = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .map((e) => e.instancePath);
  const issues: ValidationIssue[] = [];
  for (const error of errors) {
    if (
      error.keyword !== 'anyOf' &&
      error.keyword !== 'oneOf' &&
      unions.some((u) => error.instancePath.startsWith(u))
    ) {
      continue;
    }
    const segments = segmentsOf(error.instancePath);
    const field = segments.join('.');
    const label = field || 'request body';
    const last = segments[segments.length - 1];
    const isItem = last !== undefined && /^\d+$/.test(last) && segments.length > 1;
    const each = (wording: string): string =>
      isItem ? `each value in ${segments.slice(0, -1).join('.')} ${wording}` : `${label} ${wording}`;
    switch (error.keyword) {
      case 'required': {
        const missing = (error.params as { missingProperty: string }).missingProperty;
        const name = [...segments, missing].join('.');
        issues.push({ kind: 'required', in: where, field: name, message: `${name} should not be empty` });
        break;
      }
      case 'type':
        issues.push({
          kind: 'type',
          in: where,
          field,
          message: each(`must be ${describeTypes((error.params as { type: unknown }).type)}`),
        });
        break;
      case 'enum': {
        const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ');
        issues.push({
          kind: 'enum',
          in: where,
          field,
          message: each(`must be one of the following values: ${allowed}`),
        });
        break;
      }
      case 'format': {
        const format = (error.params as { format: string }).format;
        const wording =
          format === 'date-time' || format === 'date' ? 'a valid ISO 8601 date string' : `a valid ${format}`;
        issues.push({ kind: 'format', in: where, field, message: each(`must be ${wording}`) });
        break;
      }
      case 'maxLength':
        issues.push({
          kind: 'invalid',
          in: where,
          field,
          message: `${label} must be shorter than or equal to ${(error.params as { limit: number }).limit} characters`,
        });
        break;
      case 'anyOf':
      case 'oneOf':
        issues.push({
          kind: 'invalid',
          in: where,
          field,
          message: `${label} must match one of the documented shapes`,
        });
        break;
      default:
        issues.push({
          kind: 'invalid',
          in: where,
          field,
          message: `${label} ${error.message ?? 'is invalid'}`,
        });
    }
  }
  return issues;
}
