// Type of the standalone ajv validator that scripts/build.mjs generates from schema.ts.
export interface GeneratedValidationError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
declare const validate: ((data: unknown) => boolean) & { errors?: GeneratedValidationError[] | null };
export default validate;
