/** Open a directory for its descriptor, never through a link in its last component (nor a FIFO: no blocking open). */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export function openDirNoFollow(p: string): Promise<FileHandle> {
  return open(p, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
}
