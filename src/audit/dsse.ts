/**
 * DSSE pre-authentication encoding (PAE), the exact bytes every signature in the
 * audit log covers:  "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * where LEN is the decimal byte length. Binding the payload type into the signed
 * bytes stops a signature made for one kind of document (a checkpoint) being
 * replayed as another (a record).
 */

export const RECORD_PAYLOAD_TYPE = 'application/vnd.zt-ffmpeg.audit.v1+json';
export const CHECKPOINT_PAYLOAD_TYPE = 'application/vnd.zt-ffmpeg.audit-checkpoint.v1+json';
export const SIGNATURE_ALG = 'ed25519';

export function pae(payloadType: string, body: string): Buffer {
  // One allocation: this runs once per record on the verification hot path.
  return Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${Buffer.byteLength(body)} ${body}`, 'utf8');
}
