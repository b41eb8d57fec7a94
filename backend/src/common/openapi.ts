/**
 * OpenAPI request and response bodies from the protocol's schemas: controllers name a schema of
 * @data-streaming/protocol, and the document's `components.schemas` holds every one of them as generated from zod
 * (withProtocolSchemas), so `/openapi.json` and `/docs` ("Try it out" included) describe exactly what the service
 * checks and sends.
 */
import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiResponse, type OpenAPIObject } from '@nestjs/swagger';
import { ERROR_CODES, componentSchemas, type SchemaName } from '@data-streaming/protocol';

const PREFIX = '#/components/schemas/';

export const schemaRef = (name: SchemaName): { $ref: string } => ({ $ref: `${PREFIX}${name}` });

/** The request body, described by the protocol's schema `name`; `description` says what else to know. */
export function ApiJsonBody(name: SchemaName, description?: string, schema: Record<string, unknown> = schemaRef(name)): MethodDecorator {
  return ApiBody({ schema: schema as never, required: true, ...(description ? { description } : {}) });
}

/** A 2xx answer with the protocol's body `name`. */
export function ApiJsonResponse(status: number, name: SchemaName, description: string): MethodDecorator {
  return ApiResponse({ status, description, schema: schemaRef(name) });
}

/** The error answers an operation may give, each with the one error body and the codes it may carry. */
export function ApiErrors(...codes: (keyof typeof ERROR_CODES)[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, string[]>();
  for (const code of codes) {
    const { status } = ERROR_CODES[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, names]) =>
      ApiResponse({
        status,
        description: names.map((name) => `${name}: ${ERROR_CODES[name as keyof typeof ERROR_CODES].meaning}`).join('; '),
        schema: schemaRef('ErrorBody'),
      }),
    ),
  );
}

/** The document with the protocol's schemas as its components. */
export function withProtocolSchemas(document: OpenAPIObject): OpenAPIObject {
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...(componentSchemas('openapi-3.0', PREFIX) as Record<string, never>) },
  };
  return document;
}
