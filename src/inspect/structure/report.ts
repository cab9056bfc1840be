/**
 * What a framing walk reports, and the context every walker writes its findings into.
 *
 * The contract ("complete or refused"): a walker either proves where every byte of the file
 * belongs (the elements tile the file at the top level and inside the containers that matter)
 * or reports a problem. It never stops early without saying so: a limit it needs (nesting depth,
 * a table it must hold in memory) is itself a problem of kind `unverified`, which the policy
 * refuses at the strict stages like any other.
 */
import type { ToleranceName, Tolerances } from './tolerance.js';

/**
 * - truncated: the file ends inside an element (a cut download, or a header that lies);
 * - inconsistent-size: a header's size field disagrees with elements that tile the file exactly
 *   (nothing is missing: the field is wrong), where no tolerance accepts it;
 * - trailing-data: bytes after the container's end, or a second container (a polyglot);
 * - malformed: garbage where an element must start, sizes inconsistent with the parent,
 *   duplicates of what must be unique, slack bytes that belong to nothing;
 * - unverified: the walk cannot prove where the bytes belong (a size-0 box, a free-format
 *   MP3 frame, a limit of the walker itself).
 */
export type StructureProblemKind = 'truncated' | 'inconsistent-size' | 'trailing-data' | 'malformed' | 'unverified';

export interface StructureProblem {
  readonly kind: StructureProblemKind;
  readonly offset: number;
  readonly message: string;
}

/** A named tolerance that accepted something real writers do (see tolerance.ts). */
export interface ToleratedQuirk {
  readonly name: ToleranceName;
  readonly offset: number;
  readonly message: string;
}

export interface StructureReport {
  /** Which walker ran, or undefined when the format has none. */
  readonly walker: string | undefined;
  readonly problems: readonly StructureProblem[];
  /** Dimensions declared by an image header (PNG IHDR, JPEG SOF). */
  readonly declared?: { readonly width: number; readonly height: number };
  /**
   * True when the walk reached a verdict on every byte of the file: every byte accounted for,
   * or a problem that says where it could not be. False only when no walker ran (and, as a
   * safety net, is refused by checkStructure if a walker ever returns it).
   */
  readonly complete: boolean;
  /** Elements walked (boxes, chunks, EBML elements, pages, segments, frames, metadata blocks). */
  readonly elements?: number;
  /** The tolerances that accepted something, in file order. */
  readonly tolerated?: readonly ToleratedQuirk[];
}

/** Nesting deeper than this is refused as unverified (real files nest less than 12 levels). */
export const MAX_DEPTH = 32;

/** Thrown by a walker to end the walk at its first problem; caught by walkStructure. */
export class WalkStop extends Error {
  constructor(readonly problem: StructureProblem) {
    super(problem.message);
  }
}

/** The findings of one walk. A walk ends at its first problem (the verdict is a refusal anyway). */
export class WalkContext {
  elements = 0;
  readonly tolerated: ToleratedQuirk[] = [];
  declared: { width: number; height: number } | undefined;

  constructor(
    readonly size: number,
    private readonly tolerances: Tolerances,
  ) {}

  /** Record a problem and end the walk. */
  fail(kind: StructureProblemKind, offset: number, message: string): never {
    throw new WalkStop({ kind, offset, message });
  }

  /** An element that claims more bytes than its parent (or the file) holds. */
  beyond(what: string, offset: number, declared: number, parentEnd: number, parent: string | undefined): never {
    const remain = parentEnd - offset;
    if (parent === undefined) {
      return this.fail('truncated', offset, `truncated: ${what} at byte ${offset} declares ${declared} bytes but only ${remain} remain (a cut file, or a header that lies about its size)`);
    }
    return this.fail('malformed', offset, `${what} at byte ${offset} declares ${declared} bytes, beyond the end of its parent ${parent} at byte ${parentEnd} (an inconsistent size field)`);
  }

  /** Bytes after the container's end. */
  trailing(offset: number, what: string): never {
    return this.fail('trailing-data', offset, `${this.size - offset} bytes follow the end of the ${what} at byte ${offset} (another file appended: a polyglot)`);
  }

  /** Nesting deeper than MAX_DEPTH: a limit of the walker, so a refusal that names it. */
  depth(offset: number, what: string, depth: number): void {
    if (depth > MAX_DEPTH) this.fail('unverified', offset, `${what} at byte ${offset} is nested ${depth} levels deep, more than the ${MAX_DEPTH} the structure walk follows`);
  }

  /** Whether the named tolerance is on; if so the quirk is recorded (and the caller accepts it). */
  tolerate(name: ToleranceName, offset: number, message: string): boolean {
    if (!this.tolerances.has(name)) return false;
    this.tolerated.push({ name, offset, message });
    return true;
  }
}

export const printable4 = (b: Buffer, at: number): boolean => {
  for (let i = at; i < at + 4; i++) {
    const c = b[i];
    if (c === undefined || c < 0x20 || c > 0x7e) return false;
  }
  return true;
};

export const fourcc = (b: Buffer, at: number): string => b.toString('latin1', at, at + 4);

/** A four-character code for messages: printable as is, otherwise in hex. */
export function showFourcc(b: Buffer, at: number): string {
  return printable4(b, at) ? fourcc(b, at) : `0x${b.toString('hex', at, at + 4)}`;
}
