import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who a process is, as precisely as this platform can say, so that another process can later
 * tell whether it is still running. A pid alone is not enough: pids are reused, and containers
 * share a host name (and, on one kernel, a boot) while each counts pids in its own namespace.
 */
export interface ProcessRecord {
  pid: number;
  /** Linux: when the process started, in clock ticks after boot (`/proc/PID/stat` field 22). */
  start?: string;
  /** Linux: `/proc/sys/kernel/random/boot_id`; a new one on every boot. */
  boot?: string;
  /** Linux: the pid namespace (`/proc/self/ns/pid`); pids mean the same only within one. */
  pidns?: string;
  host: string;
}

/**
 * `dead` is certain; `unknown` means this process cannot see the other one (another machine,
 * another pid namespace, or a platform without process start times), so the caller needs another
 * sign of life (a lock's heartbeat), or must leave the thing alone.
 */
export type Liveness = 'alive' | 'dead' | 'unknown';

let self: ProcessRecord | undefined;

/** This process's record (read once: three small files on Linux, nothing elsewhere). */
export function thisProcess(): ProcessRecord {
  if (self !== undefined) return self;
  const record: ProcessRecord = { pid: process.pid, host: hostname() };
  const stat = readStat('self');
  if (stat !== 'gone' && stat !== 'hidden') {
    record.start = stat.start;
    const boot = readOptional(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    if (boot) record.boot = boot;
    const pidns = readOptional(() => readlinkSync('/proc/self/ns/pid'));
    if (pidns) record.pidns = pidns;
  }
  self = record;
  return record;
}

/** Whether the process a record describes still runs. */
export function processLiveness(record: ProcessRecord): Liveness {
  const me = thisProcess();
  if (me.boot !== undefined && record.boot !== undefined) {
    // A boot id is shared by every container on one kernel, and differs between machines: a
    // different one under the same host name is this machine before it rebooted.
    if (record.boot !== me.boot) return record.host === me.host ? 'dead' : 'unknown';
    if (record.pidns !== me.pidns || record.start === undefined) return 'unknown';
    return startLiveness(record.pid, record.start);
  }
  if (me.boot === undefined && record.boot === undefined && record.host === me.host) {
    // Without start times a live pid may have been reused: only its absence is certain.
    return pidExists(record.pid) ? 'unknown' : 'dead';
  }
  return 'unknown';
}

/**
 * The part of a temporary file's name that says which process made it: `PID-START` where start
 * times exist, `PID` elsewhere. A sweeper passes it to {@link ownerTagLiveness}.
 */
export function ownerTag(): string {
  const me = thisProcess();
  return me.start === undefined ? String(me.pid) : `${String(me.pid)}-${me.start}`;
}

/**
 * Whether the process an {@link ownerTag} names still runs. A tag with a start time is judged
 * only where start times can be read (another platform cannot see the process); a bare pid is
 * dead once no process has it.
 */
export function ownerTagLiveness(tag: string): Liveness {
  const match = /^(\d+)(?:-(\d+))?$/.exec(tag);
  if (match === null) return 'unknown';
  const pid = Number(match[1]);
  const start = match[2];
  if (start === undefined) return pidExists(pid) ? 'alive' : 'dead';
  if (thisProcess().start === undefined) return 'unknown';
  return startLiveness(pid, start);
}

function startLiveness(pid: number, start: string): Liveness {
  const stat = readStat(String(pid));
  if (stat === 'gone') return 'dead';
  if (stat === 'hidden') return 'unknown';
  // A zombie has exited; only its exit status waits to be collected.
  return stat.start === start && stat.state !== 'Z' && stat.state !== 'X' ? 'alive' : 'dead';
}

/** Fields of `/proc/PID/stat`, or why there are none. */
function readStat(pid: string): { state: string; start: string } | 'gone' | 'hidden' {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // No such process, no /proc (not Linux), or /proc mounted with hidepid: kill(0) tells.
    return pid !== 'self' && pidExists(Number(pid)) ? 'hidden' : 'gone';
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  if (state === undefined || start === undefined || !/^\d+$/.test(start)) return 'gone';
  return { state, start };
}

function pidExists(pid: number): boolean {
  // kill(0, …) and negative pids address process groups, not one process.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOptional(read: () => string): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
