/**
 * Provenance next to the output, where the policy asks for it: an in-toto Statement (v1) whose
 * subject is the output's digest and whose predicate names the input digest, the policy digest,
 * the operation, the principal and the audit record, in a DSSE envelope signed with the audit
 * key. Written exclusively inside the private job directory (no predictable name in a shared
 * directory for anyone to plant), then published beside the output like the output itself.
 */
import type { PrincipalRecord } from '../audit/job-records.js';
import { sign } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { canonicalize } from '../audit/canonical.js';
import { pae } from '../audit/dsse.js';
import type { SigningKey } from '../keys/index.js';

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const PREDICATE_TYPE = 'https://zt-ffmpeg.dev/attestation/transcode/v1';

export interface ProvenanceFacts {
  readonly output: { readonly path: string; readonly sha256: string };
  readonly input: { readonly path: string; readonly sha256: string };
  readonly policy: { readonly path: string; readonly sha256: string; readonly stage: string };
  readonly operation: string;
  readonly principal: PrincipalRecord | undefined;
  readonly audit: { readonly log: string; readonly decisionSeq: number | undefined; readonly jobId: string };
  readonly tool: { readonly name: string; readonly version: string };
}

/** Pure: the statement. */
export function provenanceStatement(f: ProvenanceFacts): Record<string, unknown> {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: path.basename(f.output.path), digest: { sha256: f.output.sha256 } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      builder: f.tool,
      input: { name: path.basename(f.input.path), digest: { sha256: f.input.sha256 } },
      policy: { uri: f.policy.path, digest: { sha256: f.policy.sha256 }, stage: f.policy.stage },
      operation: f.operation,
      principal: f.principal ?? null,
      audit: { log: f.audit.log, jobId: f.audit.jobId, decisionSeq: f.audit.decisionSeq ?? null },
    },
  };
}

/** Pure: the DSSE envelope over the canonical statement. */
export function dsseEnvelope(statement: Record<string, unknown>, key: SigningKey): Record<string, unknown> {
  const body = canonicalize(statement);
  const sig = sign(null, pae(INTOTO_PAYLOAD_TYPE, body), key.privateKey);
  return {
    payloadType: INTOTO_PAYLOAD_TYPE,
    payload: Buffer.from(body, 'utf8').toString('base64'),
    signatures: [{ keyid: key.keyId, sig: sig.toString('base64') }],
  };
}

/** The sidecar's suffix: `<output>.intoto.json`. */
export const PROVENANCE_SUFFIX = '.intoto.json';

/** Write the signed statement to `tmp` (created exclusively, never through a link); returns it open. */
export async function writeProvenance(f: ProvenanceFacts, key: SigningKey, tmp: string): Promise<FileHandle> {
  const h = await open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await h.writeFile(JSON.stringify(dsseEnvelope(provenanceStatement(f), key)) + '\n');
    await h.chmod(0o644);
    await h.sync();
    return h;
  } catch (e) {
    await h.close();
    throw e;
  }
}
