/** The OS principal (user, groups) and the CI context (recorded, never trusted). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ciContext, osPrincipal, parseGroupFile, resolveGroups } from '../../src/identity/principal.js';

const GROUPS = `root:x:0:
# a comment
video:x:44:runner,alice
runner:x:1001:
docker:x:999:alice
broken line
weird:x:notanumber:runner
`;

describe('OS principal', () => {
  it('parses /etc/group, skipping malformed lines', () => {
    const db = parseGroupFile(GROUPS);
    expect(db.map((g) => g.name)).toEqual(['root', 'video', 'runner', 'docker']);
    expect(db[1]).toEqual({ name: 'video', gid: 44, members: ['runner', 'alice'] });
  });

  it('resolves primary, process and member groups; unnamed gids appear as numbers', () => {
    const db = parseGroupFile(GROUPS);
    expect(resolveGroups('runner', 1001, [1001, 5000], db)).toEqual({ groups: ['video', 'runner', '5000'], gids: [44, 1001, 5000] });
    expect(resolveGroups('alice', 1002, [], db)).toEqual({ groups: ['video', 'docker', '1002'], gids: [44, 999, 1002] });
  });

  it('reads the real process user', () => {
    const p = osPrincipal();
    const info = userInfo();
    expect(p.uid).toBe(info.uid);
    expect(p.user).toBe(info.username);
    expect(p.gids).toContain(info.gid);
    expect(p.groups.length).toBeGreaterThan(0);
  });

  it('uses injected sources, and survives a uid without a passwd entry', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zt-principal-'));
    try {
      const groupFile = path.join(dir, 'group');
      await writeFile(groupFile, GROUPS);
      const p = osPrincipal({ userInfo: () => ({ uid: 1001, gid: 1001, username: 'runner' }), getgroups: () => [1001], groupFile });
      expect(p).toEqual({ uid: 1001, gid: 1001, user: 'runner', groups: ['video', 'runner'], gids: [44, 1001] });
      const anon = osPrincipal({
        userInfo: () => {
          throw new Error('ENOENT');
        },
        getgroups: () => [],
        groupFile: path.join(dir, 'absent'),
      });
      expect(anon.user).toBe(String(anon.uid));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('CI context', () => {
  it('GitHub Actions', () => {
    expect(
      ciContext({
        GITHUB_ACTIONS: 'true',
        GITHUB_REPOSITORY: 'acme/app',
        GITHUB_REF: 'refs/heads/main',
        GITHUB_WORKFLOW: 'media',
        GITHUB_RUN_ID: '42',
        GITHUB_SHA: 'abc',
        GITHUB_ACTOR: 'dev',
      }),
    ).toEqual({ provider: 'github-actions', trusted: false, repository: 'acme/app', ref: 'refs/heads/main', workflow: 'media', runId: '42', sha: 'abc', actor: 'dev' });
  });

  it('GitLab CI', () => {
    expect(ciContext({ GITLAB_CI: 'true', CI_PROJECT_PATH: 'acme/app', CI_COMMIT_REF_NAME: 'main', CI_PIPELINE_ID: '7', CI_JOB_ID: '9' })).toEqual({
      provider: 'gitlab-ci',
      trusted: false,
      repository: 'acme/app',
      ref: 'main',
      runId: '7',
      jobId: '9',
    });
  });

  it('outside CI, and with hostile values', () => {
    expect(ciContext({})).toBeUndefined();
    expect(ciContext({ GITHUB_ACTIONS: '1' })).toBeUndefined();
    const c = ciContext({ GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/app\n\u001b[31mFAKE', GITHUB_REF: 'r'.repeat(2000) });
    expect(c?.repository).toBeUndefined();
    expect(c?.ref).toHaveLength(512);
    expect(c?.trusted).toBe(false);
  });
});
