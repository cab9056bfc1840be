/**
 * The EBML and Matroska element ids the walker needs (data table): which elements are masters
 * (their children are walked) and, for the two that may have an unknown size (Segment and
 * Cluster), which ids are their children, so that where such an element ends can be resolved:
 * at the first element that cannot be its child.
 */
export const EBML_HEADER = 0x1a45dfa3;
export const SEGMENT = 0x18538067;
export const CLUSTER = 0x1f43b675;
export const VOID = 0xec;
export const CRC32 = 0xbf;

/** Elements allowed in every master. */
export const GLOBAL_IDS: ReadonlySet<number> = new Set([VOID, CRC32]);

export const SEGMENT_CHILDREN: ReadonlySet<number> = new Set([
  0x114d9b74, // SeekHead
  0x1549a966, // Info
  0x1654ae6b, // Tracks
  CLUSTER,
  0x1c53bb6b, // Cues
  0x1941a469, // Attachments
  0x1043a770, // Chapters
  0x1254c367, // Tags
]);

export const CLUSTER_CHILDREN: ReadonlySet<number> = new Set([
  0xe7, // Timestamp
  0x5854, // SilentTracks
  0xa7, // Position
  0xab, // PrevSize
  0xa3, // SimpleBlock
  0xa0, // BlockGroup
  0xaf, // EncryptedBlock
]);

/** Masters whose children are walked (all of Matroska's, so every nested size is checked). */
export const MASTERS: ReadonlyMap<number, string> = new Map([
  [EBML_HEADER, 'EBML'], [0x4281, 'DocTypeExtension'],
  [SEGMENT, 'Segment'],
  [0x114d9b74, 'SeekHead'], [0x4dbb, 'Seek'],
  [0x1549a966, 'Info'], [0x6924, 'ChapterTranslate'],
  [CLUSTER, 'Cluster'], [0x5854, 'SilentTracks'], [0xa0, 'BlockGroup'], [0x75a1, 'BlockAdditions'], [0xa6, 'BlockMore'],
  [0x8e, 'Slices'], [0xe8, 'TimeSlice'], [0xc8, 'ReferenceFrame'],
  [0x1654ae6b, 'Tracks'], [0xae, 'TrackEntry'], [0x6624, 'TrackTranslate'], [0xe0, 'Video'], [0x55b0, 'Colour'],
  [0x55d0, 'MasteringMetadata'], [0x7670, 'Projection'], [0xe1, 'Audio'], [0xe2, 'TrackOperation'],
  [0xe3, 'TrackCombinePlanes'], [0xe4, 'TrackPlane'], [0xe9, 'TrackJoinBlocks'], [0x6d80, 'ContentEncodings'],
  [0x6240, 'ContentEncoding'], [0x5034, 'ContentCompression'], [0x5035, 'ContentEncryption'],
  [0x47e7, 'ContentEncAESSettings'], [0x41e4, 'BlockAdditionMapping'],
  [0x1c53bb6b, 'Cues'], [0xbb, 'CuePoint'], [0xb7, 'CueTrackPositions'], [0xdb, 'CueReference'],
  [0x1941a469, 'Attachments'], [0x61a7, 'AttachedFile'],
  [0x1043a770, 'Chapters'], [0x45b9, 'EditionEntry'], [0x4520, 'EditionDisplay'], [0xb6, 'ChapterAtom'],
  [0x8f, 'ChapterTrack'], [0x80, 'ChapterDisplay'], [0x6944, 'ChapProcess'], [0x6911, 'ChapProcessCommand'],
  [0x1254c367, 'Tags'], [0x7373, 'Tag'], [0x63c0, 'Targets'], [0x67c8, 'SimpleTag'],
]);

/** The children that resolve the end of an unknown-size master. */
export const UNKNOWN_SIZE_CHILDREN: ReadonlyMap<number, ReadonlySet<number>> = new Map([
  [SEGMENT, SEGMENT_CHILDREN],
  [CLUSTER, CLUSTER_CHILDREN],
]);

export function ebmlName(id: number): string {
  return MASTERS.get(id) ?? (id === VOID ? 'Void' : id === CRC32 ? 'CRC-32' : `0x${id.toString(16).toUpperCase()}`);
}
