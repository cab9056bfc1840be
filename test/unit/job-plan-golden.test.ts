/**
 * Golden command lines of the job plan: the exact prlimit → bwrap → ffprobe/ffmpeg argv, order
 * included, of each of the four commands of one job, built from a fixed policy and build
 * (test/helpers/plan-fixtures.ts). A change here is a change to the sandbox or the hardening of
 * every job: review it as one.
 */
import { describe, expect, it } from 'vitest';
import { planProbe, planDecodeHardening, planDeepCheck, planTranscode, planOutputProbe, inputPins } from '../../src/plan/job-plan.js';
import { sandboxCommandLines } from '../../src/sandbox/supervise.js';
import { GOLDEN_POLICY as policy, caps, probe, input, site } from '../helpers/plan-fixtures.js';

const transcode = policy.operations.list['transcode']!;
const mp4 = transcode.targets['mp4']!;

function decodePins() {
  return inputPins(policy, site('/usr/bin/ffmpeg'), input, probe, planDecodeHardening(policy, caps, probe));
}

const GOLDEN = {
  probe: [
    '/usr/bin/prlimit --as=1073741824 --cpu=30:32 --fsize=1048576 --nofile=64 --core=0 -- /usr/bin/bwrap',
    '--unshare-all --unshare-user --uid 65534 --gid 65534 --hostname sandbox --die-with-parent --as-pid-1 --new-session',
    '--cap-drop ALL --clearenv --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink',
    'usr/bin /bin --symlink usr/sbin /sbin --ro-bind-try /etc/ld.so.cache /etc/ld.so.cache --ro-bind-try',
    '/etc/alternatives /etc/alternatives --ro-bind-try /etc/ld.so.conf /etc/ld.so.conf --ro-bind-try',
    '/etc/ld.so.conf.d /etc/ld.so.conf.d --ro-bind-try /etc/localtime /etc/localtime --size 4096 --tmpfs',
    '/usr/share/fonts --remount-ro /usr/share/fonts --proc /proc --size 4096 --tmpfs /proc/sys --remount-ro',
    '/proc/sys --ro-bind /dev/null /proc/sysrq-trigger --dev /dev --size 16777216 --tmpfs /dev/shm --ro-bind-try',
    '/sys/devices/system /sys/devices/system --remount-ro /dev --size 16777216 --tmpfs /tmp --dir /in --ro-bind-fd',
    '3 /in/input.mp4 --chdir /tmp --ro-bind-fd 6 /usr/bin/ffprobe --ro-bind-fd 5 /usr/bin/prlimit --remount-ro / --setenv PATH /usr/bin --setenv',
    'HOME /tmp --setenv LC_ALL C --setenv MALLOC_ARENA_MAX 2 --seccomp 0 --json-status-fd 8 -- /usr/bin/prlimit --nproc=64:64 -- /usr/bin/ffprobe',
    '-hide_banner -v error -max_alloc 268435456 -protocol_whitelist file -format_whitelist mov,matroska,wav',
    '-codec_whitelist aac,ass,h264,libopus,libvpx-vp9,mov_text,opus,pcm_s16le,srt,ssa,subrip,text,vp9,webvtt',
    '-max_streams 16 -max_samples 1536000 -probesize 10000000 -analyzeduration 10000000 -show_format -show_streams',
    '-show_chapters -of json=c=1 -i /in/input.mp4',
  ].join(' ').split(' '),
  deepCheck: [
    '/usr/bin/prlimit --as=6442450944 --cpu=3600:3602 --fsize=1048576 --nofile=256 --core=0 -- /usr/bin/bwrap',
    '--unshare-all --unshare-user --uid 65534 --gid 65534 --hostname sandbox --die-with-parent --as-pid-1 --new-session',
    '--cap-drop ALL --clearenv --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink',
    'usr/bin /bin --symlink usr/sbin /sbin --ro-bind-try /etc/ld.so.cache /etc/ld.so.cache --ro-bind-try',
    '/etc/alternatives /etc/alternatives --ro-bind-try /etc/ld.so.conf /etc/ld.so.conf --ro-bind-try',
    '/etc/ld.so.conf.d /etc/ld.so.conf.d --ro-bind-try /etc/localtime /etc/localtime --size 4096 --tmpfs',
    '/usr/share/fonts --remount-ro /usr/share/fonts --proc /proc --size 4096 --tmpfs /proc/sys --remount-ro',
    '/proc/sys --ro-bind /dev/null /proc/sysrq-trigger --dev /dev --size 16777216 --tmpfs /dev/shm --ro-bind-try',
    '/sys/devices/system /sys/devices/system --remount-ro /dev --size 16777216 --tmpfs /tmp --dir /in --ro-bind-fd',
    '3 /in/input.mp4 --chdir /tmp --ro-bind-fd 6 /usr/bin/ffmpeg --ro-bind-fd 5 /usr/bin/prlimit --remount-ro / --setenv PATH /usr/bin --setenv',
    'HOME /tmp --setenv LC_ALL C --setenv MALLOC_ARENA_MAX 2 --seccomp 0 --json-status-fd 8 -- /usr/bin/prlimit --nproc=64:64 -- /usr/bin/ffmpeg',
    '-hide_banner -nostdin -nostats -loglevel level+error -xerror -max_alloc 1610612736 -threads 4',
    '-protocol_whitelist file -format_whitelist mov -f mov -codec_whitelist aac,h264 -max_pixels 33177600',
    '-max_streams 16 -max_samples 1536000 -enable_drefs 0 -use_absolute_path 0 -probesize 10000000 -analyzeduration',
    '10000000 -err_detect explode -i /in/input.mp4 -t 14400 -map 0:v? -map 0:a? -f null -',
  ].join(' ').split(' '),
  transcode: [
    '/usr/bin/prlimit --as=6442450944 --cpu=3600:3602 --fsize=268435456 --nofile=256 --core=0 -- /usr/bin/bwrap',
    '--unshare-all --unshare-user --uid 65534 --gid 65534 --hostname sandbox --die-with-parent --as-pid-1 --new-session',
    '--cap-drop ALL --clearenv --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink',
    'usr/bin /bin --symlink usr/sbin /sbin --ro-bind-try /etc/ld.so.cache /etc/ld.so.cache --ro-bind-try',
    '/etc/alternatives /etc/alternatives --ro-bind-try /etc/ld.so.conf /etc/ld.so.conf --ro-bind-try',
    '/etc/ld.so.conf.d /etc/ld.so.conf.d --ro-bind-try /etc/localtime /etc/localtime --size 4096 --tmpfs',
    '/usr/share/fonts --remount-ro /usr/share/fonts --proc /proc --size 4096 --tmpfs /proc/sys --remount-ro',
    '/proc/sys --ro-bind /dev/null /proc/sysrq-trigger --dev /dev --size 268435456 --tmpfs /dev/shm --ro-bind-try',
    '/sys/devices/system /sys/devices/system --remount-ro /dev --size 268435456 --tmpfs /tmp --dir /in --ro-bind-fd',
    '3 /in/input.mp4 --chdir /tmp --ro-bind-fd 6 /usr/bin/ffmpeg --ro-bind-fd 5 /usr/bin/prlimit --remount-ro / --setenv PATH /usr/bin --setenv',
    'HOME /tmp --setenv LC_ALL C --setenv MALLOC_ARENA_MAX 2 --seccomp 0 --json-status-fd 8 -- /usr/bin/prlimit --nproc=64:64 -- /usr/bin/ffmpeg',
    '-hide_banner -nostdin -y -loglevel level+warning -nostats -progress pipe:7 -stats_period 0.5 -max_alloc',
    '1610612736 -threads 4 -filter_threads 4 -protocol_whitelist file -format_whitelist mov -f mov -codec_whitelist',
    'aac,h264 -max_pixels 33177600 -max_streams 16 -max_samples 1536000 -enable_drefs 0 -use_absolute_path 0',
    '-probesize 10000000 -analyzeduration 10000000 -i /in/input.mp4 -map 0:v:0? -map 0:a:0? -vf',
    'scale=trunc(iw/2)*2:trunc(ih/2)*2 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -c:a aac -b:a 128k',
    '-movflags +faststart -t 14400 -map_metadata -1 -map_metadata:s -1 -map_metadata:c -1 -map_chapters -1 -threads',
    '4 -f mp4 /proc/self/fd/4',
  ].join(' ').split(' '),
  outputProbe: [
    '/usr/bin/prlimit --as=1073741824 --cpu=30:32 --fsize=1048576 --nofile=64 --core=0 -- /usr/bin/bwrap',
    '--unshare-all --unshare-user --uid 65534 --gid 65534 --hostname sandbox --die-with-parent --as-pid-1 --new-session',
    '--cap-drop ALL --clearenv --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink',
    'usr/bin /bin --symlink usr/sbin /sbin --ro-bind-try /etc/ld.so.cache /etc/ld.so.cache --ro-bind-try',
    '/etc/alternatives /etc/alternatives --ro-bind-try /etc/ld.so.conf /etc/ld.so.conf --ro-bind-try',
    '/etc/ld.so.conf.d /etc/ld.so.conf.d --ro-bind-try /etc/localtime /etc/localtime --size 4096 --tmpfs',
    '/usr/share/fonts --remount-ro /usr/share/fonts --proc /proc --size 4096 --tmpfs /proc/sys --remount-ro',
    '/proc/sys --ro-bind /dev/null /proc/sysrq-trigger --dev /dev --size 16777216 --tmpfs /dev/shm --ro-bind-try',
    '/sys/devices/system /sys/devices/system --remount-ro /dev --size 16777216 --tmpfs /tmp --chdir /tmp',
    '--ro-bind-fd 6 /usr/bin/ffprobe --ro-bind-fd 5 /usr/bin/prlimit --remount-ro / --setenv PATH /usr/bin --setenv HOME /tmp --setenv LC_ALL C',
    '--setenv MALLOC_ARENA_MAX 2 --seccomp 0 --json-status-fd 8 -- /usr/bin/prlimit --nproc=64:64 -- /usr/bin/ffprobe -hide_banner -v error',
    '-max_alloc 268435456 -protocol_whitelist file -format_whitelist mov,mp4 -codec_whitelist aac,h264 -max_streams',
    '64 -max_samples 49152000 -probesize 5000000 -analyzeduration 5000000 -show_format -show_streams -show_chapters',
    '-of json=c=1 -i /proc/self/fd/3',
  ].join(' ').split(' '),
};

describe('the job plan, golden', () => {
  it('the input probe', () => {
    expect(sandboxCommandLines(planProbe(policy, caps, site('/usr/bin/ffprobe'), input).run).argv).toEqual(GOLDEN.probe);
  });

  it('the deep check', () => {
    expect(sandboxCommandLines(planDeepCheck(policy, site('/usr/bin/ffmpeg'), input, decodePins(), probe)).argv).toEqual(GOLDEN.deepCheck);
  });

  it('the transcode', () => {
    const t = planTranscode(
      policy,
      { ...site('/usr/bin/ffmpeg'), seccompProfile: 'default', seccompHash: 'ab'.repeat(32) },
      input,
      decodePins(),
      { operation: 'transcode', target: mp4, extension: 'mp4', outputArgs: mp4.args, rawMuxer: undefined, raw: false },
      { baseline: undefined, mediaSeconds: 1 },
      { probe, inputBytes: 1_000_000 },
    );
    expect(sandboxCommandLines({ ...t.run, output: { fd: 9, name: t.outputName } }).argv).toEqual(GOLDEN.transcode);
  });

  it('the output probe', () => {
    expect(sandboxCommandLines(planOutputProbe(site('/usr/bin/ffprobe'), { fd: 3, name: 'output' }, mp4, caps, 30)).argv).toEqual(GOLDEN.outputProbe);
  });

  it('the deep check and the transcode read the input through the same pins', () => {
    const inputSide = (argv: readonly string[]): string[] => {
      const i = argv.indexOf('-i');
      const start = argv.indexOf('-protocol_whitelist');
      return argv.slice(start, i + 2).filter((a, k, all) => a !== '-err_detect' && all[k - 1] !== '-err_detect');
    };
    expect(inputSide(GOLDEN.deepCheck)).toEqual(inputSide(GOLDEN.transcode));
  });
});
