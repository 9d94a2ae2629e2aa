import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';

interface Operation {
  responses: Record<string, { content?: Record<string, unknown> }>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation | unknown>>;
}

/** A JSON Pointer token (RFC 6901) inside a URI fragment. */
function pointerToken(token: string): string {
  return encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1'));
}

/**
 * Checks answers against an OpenAPI 3.1 document: the path and method must be documented, the status among the
 * operation's responses, the content type among that response's, and the body valid against its schema
 * (JSON Schema 2020-12, formats included); a response without content must have no body.
 */
export class OpenApiCheck {
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true });

  constructor(private readonly document: OpenApiDocument) {
    formats.default(this.#ajv);
    this.#ajv.addSchema(document as object, 'openapi');
  }

  #template(path: string): string {
    const template = Object.keys(this.document.paths).find((candidate) =>
      new RegExp(`^${candidate.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
    );
    if (!template) throw new Error(`${path} is not in the OpenAPI document`);
    return template;
  }

  /** Throws, saying why, unless the document describes this answer. */
  check(method: string, url: string, status: number, contentType: string | null, body: string): void {
    const template = this.#template(new URL(url).pathname);
    const verb = method.toLowerCase();
    const operation = this.document.paths[template]?.[verb] as Operation | undefined;
    if (!operation) throw new Error(`${method} ${template} is not in the OpenAPI document`);
    const response = operation.responses[String(status)];
    if (!response) throw new Error(`${method} ${template} answered ${status}, which the document does not list`);
    if (!response.content) {
      if (body !== '') throw new Error(`${method} ${template} ${status} has a body the document does not describe: ${body}`);
      return;
    }
    const mediaType = (contentType ?? '').split(';')[0]?.trim() ?? '';
    if (!(mediaType in response.content)) throw new Error(`${method} ${template} ${status} answered ${mediaType}, not one of ${Object.keys(response.content).join(', ')}`);
    const pointer = ['paths', template, verb, 'responses', String(status), 'content', mediaType, 'schema'].map(pointerToken).join('/');
    const validate = this.#ajv.getSchema(`openapi#/${pointer}`);
    if (!validate) throw new Error(`no schema at ${pointer}`);
    if (!validate(JSON.parse(body))) {
      throw new Error(`${method} ${template} ${status} does not match the document: ${this.#ajv.errorsText(validate.errors)}\n${body}`);
    }
  }
}
