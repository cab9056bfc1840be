/**
 * Who runs this process (the OS user, always) and where it says it runs (a CI context, from
 * environment variables: recorded, never trusted on its own).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { CiContext, OsPrincipal } from './types.js';

/** Environment variables ciContext() reads; the CLI's env allow-list must include them. */
export const CI_ENV_VARS = [
  'GITHUB_ACTIONS',
  'GITHUB_REPOSITORY',
  'GITHUB_REF',
  'GITHUB_WORKFLOW',
  'GITHUB_RUN_ID',
  'GITHUB_SHA',
  'GITHUB_ACTOR',
  'GITLAB_CI',
  'CI_PROJECT_PATH',
  'CI_COMMIT_REF_NAME',
  'CI_COMMIT_SHA',
  'CI_PIPELINE_ID',
  'CI_JOB_ID',
  'GITLAB_USER_LOGIN',
] as const;

export type Env = Readonly<Record<string, string | undefined>>;

export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

/** Parse /etc/group text (name:password:gid:member,member). Malformed lines are skipped. */
export function parseGroupFile(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, , gidText, members] = line.split(':');
    if (name === undefined || name === '' || gidText === undefined || !/^\d+$/.test(gidText)) continue;
    out.push({
      name,
      gid: Number(gidText),
      members: (members ?? '').split(',').map((m) => m.trim()).filter((m) => m !== ''),
    });
  }
  return out;
}

/**
 * The user's groups: the primary gid, the process's supplementary gids, and the groups that list
 * the user as a member. Names from the group database; a gid without a name appears as its number.
 */
export function resolveGroups(
  user: string,
  gid: number,
  processGids: readonly number[],
  db: readonly GroupEntry[],
): { groups: string[]; gids: number[] } {
  const gids = new Set<number>([gid, ...processGids]);
  for (const g of db) if (g.members.includes(user)) gids.add(g.gid);
  const sorted = [...gids].sort((a, b) => a - b);
  const names = sorted.map((id) => db.find((g) => g.gid === id)?.name ?? String(id));
  return { groups: [...new Set(names)], gids: sorted };
}

export interface OsPrincipalSources {
  readonly userInfo?: () => { uid: number; gid: number; username: string };
  readonly getgroups?: () => number[];
  readonly groupFile?: string;
}

/** The OS user of this process, with its groups. */
export function osPrincipal(src: OsPrincipalSources = {}): OsPrincipal {
  let uid: number;
  let gid: number;
  let user: string;
  try {
    const info = (src.userInfo ?? (() => userInfo()))();
    ({ uid, gid } = info);
    user = info.username;
  } catch {
    // A uid without a passwd entry (common in containers): still a principal, named by number.
    uid = process.getuid?.() ?? -1;
    gid = process.getgid?.() ?? -1;
    user = String(uid);
  }
  const processGids = (src.getgroups ?? (() => process.getgroups?.() ?? []))();
  let db: GroupEntry[] = [];
  try {
    db = parseGroupFile(readFileSync(src.groupFile ?? '/etc/group', 'utf8'));
  } catch {
    db = [];
  }
  const { groups, gids } = resolveGroups(user, gid, processGids, db);
  return { uid, gid, user, groups, gids };
}

/** Keep a recorded value printable and bounded: it goes into audit records and terminals. */
function clean(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return undefined;
  return value.length > 512 ? value.slice(0, 512) : value;
}

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The CI context the environment claims, or undefined outside CI. Never trusted. */
export function ciContext(env: Env): CiContext | undefined {
  if (env['GITHUB_ACTIONS'] === 'true') {
    return compact<CiContext>({
      provider: 'github-actions',
      trusted: false,
      repository: clean(env['GITHUB_REPOSITORY']),
      ref: clean(env['GITHUB_REF']),
      workflow: clean(env['GITHUB_WORKFLOW']),
      runId: clean(env['GITHUB_RUN_ID']),
      sha: clean(env['GITHUB_SHA']),
      actor: clean(env['GITHUB_ACTOR']),
    });
  }
  if (env['GITLAB_CI'] === 'true') {
    return compact<CiContext>({
      provider: 'gitlab-ci',
      trusted: false,
      repository: clean(env['CI_PROJECT_PATH']),
      ref: clean(env['CI_COMMIT_REF_NAME']),
      runId: clean(env['CI_PIPELINE_ID']),
      jobId: clean(env['CI_JOB_ID']),
      sha: clean(env['CI_COMMIT_SHA']),
      actor: clean(env['GITLAB_USER_LOGIN']),
    });
  }
  return undefined;
}
