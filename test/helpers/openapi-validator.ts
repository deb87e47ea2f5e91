import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { sseMessages } from './http.js';

/*
 * Checks an answer against the OpenAPI document the server serves: the status must be one the operation documents,
 * every header the document says is required must be there with a value of its schema, and the body must be of the
 * documented media type and schema (or absent where none is documented). An answer for a path the document does not
 * have must be the error envelope (404, or 405 for a method the path lacks).
 */

// ajv-formats is CommonJS with a default export; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

interface Reference {
  $ref: string;
}
interface HeaderObject {
  required?: boolean;
  schema?: Record<string, unknown>;
}
interface ResponseObject {
  description?: string;
  headers?: Record<string, HeaderObject | Reference>;
  content?: Record<string, { schema?: unknown }>;
}
interface OperationObject {
  responses: Record<string, ResponseObject | Reference>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components?: { headers?: Record<string, HeaderObject>; responses?: Record<string, ResponseObject> };
}

export interface CheckedAnswer {
  status: number;
  headers: Headers;
  text: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const DOCUMENT_ID = 'gale-openapi';

/** A JSON pointer segment, as a URI fragment carries it. */
const pointer = (segments: string[]): string => segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

export class OpenApiValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly templates: Array<{ path: string; pattern: RegExp; literal: boolean }>;

  constructor(private readonly doc: OpenApiDocument) {
    addFormats(this.ajv);
    this.ajv.addSchema(doc as object, DOCUMENT_ID);
    this.templates = Object.keys(doc.paths).map((path) => ({
      path,
      // An empty segment matches too: Gale routes /instances/ to /instances/{id} and answers that the id is empty (400).
      pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]*')}$`),
      literal: !path.includes('{'),
    }));
  }

  /** Problems with an answer to `method target`; empty when it is what the document says. */
  check(method: string, target: string, answer: CheckedAnswer): string[] {
    const path = new URL(target, 'http://gale.invalid').pathname;
    const verb = method.toLowerCase();
    // A literal path wins over a template that also matches it.
    const matches = this.templates.filter((t) => t.pattern.test(path)).sort((a, b) => Number(b.literal) - Number(a.literal));
    const where = `${method} ${path} -> ${answer.status}`;
    if (verb === 'options' || verb === 'head') return [];
    const template = matches[0];
    if (!template) return answer.status === 404 ? this.checkEnvelope(where, answer) : [`${where}: the path is not in the document, yet the answer is not 404`];
    const operation = this.doc.paths[template.path]![verb];
    if (!operation || !METHODS.includes(verb)) {
      return answer.status === 405 ? this.checkEnvelope(where, answer) : [`${where}: ${method} is not documented on ${template.path}, yet the answer is not 405`];
    }
    const status = String(answer.status);
    const key = [status, `${status[0]}XX`, 'default'].find((candidate) => candidate in operation.responses);
    if (key === undefined) return [`${where}: status ${status} is not documented for ${verb.toUpperCase()} ${template.path}`];
    const response = this.resolve<ResponseObject>(operation.responses[key]!);
    return [
      ...this.checkHeaders(where, response, answer),
      ...this.checkBody(where, response, answer, ['paths', template.path, verb, 'responses', key]),
    ];
  }

  private checkEnvelope(where: string, answer: CheckedAnswer): string[] {
    const problems: string[] = [];
    for (const name of ['x-error', 'x-error-id', 'x-request-id']) if (!answer.headers.has(name)) problems.push(`${where}: no ${name} header`);
    const validate = this.validator(['components', 'schemas', 'Error']);
    if (!validate(parse(answer.text))) problems.push(`${where}: not the error envelope: ${this.ajv.errorsText(validate.errors)}`);
    return problems;
  }

  private checkHeaders(where: string, response: ResponseObject, answer: CheckedAnswer): string[] {
    const problems: string[] = [];
    for (const [name, entry] of Object.entries(response.headers ?? {})) {
      const header = this.resolve<HeaderObject>(entry);
      const value = answer.headers.get(name);
      if (value === null) {
        if (header.required) problems.push(`${where}: the required header ${name} is missing`);
        continue;
      }
      const schema = header.schema ?? {};
      const typed = schema.type === 'integer' || schema.type === 'number' ? Number(value) : value;
      const validate = this.ajv.compile(schema);
      if (!validate(typed)) problems.push(`${where}: header ${name}: ${JSON.stringify(value)} ${this.ajv.errorsText(validate.errors)}`);
    }
    return problems;
  }

  private checkBody(where: string, response: ResponseObject, answer: CheckedAnswer, at: string[]): string[] {
    const content = response.content;
    if (!content) return answer.text === '' ? [] : [`${where}: a body where the document says there is none: ${answer.text.slice(0, 200)}`];
    const mediaType = (answer.headers.get('content-type') ?? '').split(';', 1)[0]!.trim();
    if (!(mediaType in content)) return [`${where}: content-type ${mediaType} is not one of ${Object.keys(content).join(', ')}`];
    const validate = this.validator([...at, 'content', mediaType, 'schema']);
    if (mediaType === 'text/event-stream') {
      // The schema is each message's data: every one must be JSON of it, and its id field must repeat the data's id.
      return sseMessages(answer.text).flatMap((message, index) => {
        const data = parse(message.data);
        if (!validate(data)) return [`${where}: event ${index} ${message.data.slice(0, 300)}: ${this.ajv.errorsText(validate.errors)}`];
        const id = (data as { id?: unknown }).id;
        return message.id === id ? [] : [`${where}: event ${index} has id field ${message.id} but data id ${String(id)}`];
      });
    }
    if (!mediaType.includes('json')) return [];
    const body = parse(answer.text);
    if (!validate(body)) return [`${where}: body ${answer.text.slice(0, 300)}: ${this.ajv.errorsText(validate.errors)}`];
    return [];
  }

  /** A validator for the schema at a place in the document, its references resolved within the document. */
  private validator(segments: string[]): ValidateFunction {
    const ref = `${DOCUMENT_ID}#/${pointer(segments)}`;
    let validate = this.validators.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.validators.set(ref, validate);
    }
    return validate;
  }

  private resolve<T>(entry: T | Reference): T {
    if (typeof entry !== 'object' || entry === null || !('$ref' in entry)) return entry as T;
    const segments = (entry as Reference).$ref.replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let node: unknown = this.doc;
    for (const segment of segments) node = (node as Record<string, unknown>)[segment];
    if (node === undefined) throw new Error(`unresolved reference ${(entry as Reference).$ref}`);
    return node as T;
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
