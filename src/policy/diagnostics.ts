/** Policy problems, reported at file:line:column with what was expected. */
import { ZtError } from '../errors.js';

export interface PolicyDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
}

export function policyError(file: string, diagnostics: readonly PolicyDiagnostic[]): ZtError {
  const lines = diagnostics.map((d) => `  ${d.file}:${d.line}:${d.column}: ${d.path ? `${d.path}: ` : ''}${d.message}`);
  return new ZtError('policy-invalid', `policy ${file} is invalid (${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
    hint: 'fix the lines above; `zt-ffmpeg policy schema` prints the schema, `zt-ffmpeg policy validate FILE` re-checks',
    violations: diagnostics.map((d) => ({ rule: 'policy.schema', actual: d.path, limit: d.message, message: `${d.file}:${d.line}:${d.column}: ${d.message}` })),
    details: { diagnostics },
  });
}

