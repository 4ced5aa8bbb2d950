import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { BrambleError, InputError } from '../../core/index.js';
import type { HaStatus, JobStatus } from '../../head/index.js';
import { findTask, planJob, publicTasks } from '../../tasks/index.js';
import { ApiClient, resolveApi } from '../api-client.js';
import { getThroughHeads, submitWithRetry } from '../submit-retry.js';
import { formatResult } from '../format.js';
import { ProgressBar } from '../progress.js';
import path from 'node:path';
import { anyJobInput, dataDirOf, follow, printJson, rawArgs, taskArgumentHelp, taskOptions, writeFileFrom } from '../shared.js';


/** The commands that talk to a head over its HTTP API: submit, jobs, status, watch, result, cancel, login-url, logout-all, node clear, nodes, ha. */
export function register(program: Command): void {
  // ---- API commands ----
  const api = (cmd: Command): Command =>
    cmd
      .option('--head-url <url>', 'head API, e.g. https://pi-head:7080 (default: from the data dir); several heads: repeat it or separate with commas (submit tries each in turn)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
      .option('--token <token>', 'admin token (default: BRAMBLE_TOKEN, or the data dir)')
      .option('--data <dir>', 'data dir of the head on this machine')
      .option('--json', 'print JSON');
  const target = (o: Record<string, unknown>): ReturnType<typeof resolveApi> =>
    resolveApi({ headUrl: o['headUrl'] as string[] | undefined, token: o['token'] as string | undefined, data: dataDirOf(o as { data?: string }) });
  const client = (o: Record<string, unknown>): ApiClient => new ApiClient(target(o));

  const showStatus = (st: JobStatus): string => {
    const c = st.chunks;
    const pct = (st.progress * 100).toFixed(1);
    return `${st.id}  ${st.task.padEnd(7)} ${st.state.padEnd(9)} ${pct.padStart(5)}%  ${c.done}/${c.total} done, ${c.leased} leased, ${c.pending} pending, ${c.failed} failed${st.waiting ? `\n  ${st.waiting}` : ''}${st.error ? `\n  ${st.error}` : ''}${st.failedChunks.length ? `\n  failed chunks: ${st.failedChunks.slice(0, 3).map((f) => `${f.index}: ${f.error}`).join('\n  ')}` : ''}`;
  };

  taskOptions(api(program.command('submit').argument('<task>', taskArgumentHelp(publicTasks().map((t) => t.name))).description('submit a job to the head')))
    .option('--wait', 'wait for the job to finish and print its result')
    .option('--id <id>', 'job id, also the submit\'s idempotency key: the same id with the same settings answers the one job (default: a new random id)')
    .option('--timeout <seconds>', 'retry through every head given until one answers, at most this long (default 60)')
    .option('--workers <n>', 'life: cut the grid in strips over this many worker slots (default: every slot connected)')
    .action(async (task: string, words: string[], o: Record<string, unknown>) => {
      const { workers, ...rest } = o;
      const { input, module, files } = await anyJobInput(task, words, rest, rawArgs(program));
      if (workers !== undefined) {
        if (!findTask(input.task)?.paramInfo.some((p) => p.name === 'parts')) throw new InputError('--workers', `--workers does not apply to task ${task}`);
        input.params = { ...input.params, parts: workers };
      }
      planJob(input); // same validation as the head, before any network
      const id = o['id'] === undefined ? randomBytes(6).toString('hex') : String(o['id']);
      if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(id)) throw new InputError('--id', `--id must be 1-64 lower-case letters, digits and dashes, not starting with a dash (got ${JSON.stringify(id)})`);
      const timeout = o['timeout'] === undefined ? 60 : Number(o['timeout']);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new InputError('--timeout', `--timeout must be a positive number of seconds (got ${JSON.stringify(o['timeout'])})`);
      const t = target(o);
      const log = (line: string): void => void process.stderr.write(`bramble: ${line}\n`);
      if (module || files.length > 0) {
        // the code first, stored by its SHA-256 (a retry stores nothing twice), then the job that names it
        const c = client(o);
        if (module) {
          const up = await c.putBytes<{ task: string }>(`/api/code?module=${encodeURIComponent(path.basename(module.file))}`, module.bytes);
          if (up.task !== module.task.name) throw new BrambleError('CODE', `the head stored the module as ${up.task}, expected ${module.task.name}`);
        }
        for (const f of files) await c.putBytes('/api/code', f.bytes);
      }
      const sent = await submitWithRetry({ urls: t.urls, token: t.token, ca: t.ca, body: { ...input, id }, timeoutMs: timeout * 1000, log });
      const st = sent.status;
      if (st.note) log(st.note); // admission cut the chunks (issue 17, item 7)
      if (!o['wait']) {
        // an existing job after a lost answer is this submit's own job; otherwise say it was there before
        const before = st.existing && !sent.uncertain;
        if (o['json']) printJson({ id: st.id, state: st.state, chunks: String(st.chunks.total), existing: st.existing });
        else process.stdout.write(before ? `job ${st.id} was already submitted with these settings (${st.state}): ${st.chunks.total} chunk(s)\n` : `submitted job ${st.id}: ${st.chunks.total} chunk(s)\n`);
        return;
      }
      // follow through every head too: a restart or failover meanwhile costs a pause, not the command
      const get = getThroughHeads({ urls: [sent.url, ...t.urls.filter((u) => u !== sent.url)], token: t.token, ca: t.ca, timeoutMs: timeout * 1000, log });
      const end = await follow(() => get<JobStatus>(`/api/jobs/${st.id}`), new ProgressBar(process.stderr, o['json'] ? false : undefined), 250);
      if (end.state === 'cancelled') throw new BrambleError('CANCELLED', `job ${st.id} was cancelled`);
      const r = await get<Record<string, unknown>>(`/api/jobs/${st.id}/result`);
      if (o['json']) printJson(r);
      else process.stdout.write(`job ${st.id}\n${formatResult(r)}\n`);
      if (end.state === 'failed') process.exitCode = 1;
    });

  api(program.command('jobs').description('list jobs')).action(async (o: Record<string, unknown>) => {
    const { jobs } = await client(o).get<{ jobs: JobStatus[] }>('/api/jobs');
    if (o['json']) printJson({ jobs });
    else process.stdout.write(jobs.length === 0 ? 'no jobs\n' : jobs.map(showStatus).join('\n') + '\n');
  });

  api(program.command('status').argument('<job>').description("a job's state and chunk counts")).action(async (id: string, o: Record<string, unknown>) => {
    const st = await client(o).get<JobStatus>(`/api/jobs/${encodeURIComponent(id)}`);
    if (o['json']) printJson(st);
    else process.stdout.write(showStatus(st) + '\n');
  });

  api(program.command('watch').argument('<job>').description('progress bar until the job ends')).action(async (id: string, o: Record<string, unknown>) => {
    const c = client(o);
    const st = await follow(() => c.get<JobStatus>(`/api/jobs/${encodeURIComponent(id)}`), new ProgressBar(process.stderr, o['json'] ? false : undefined), 250);
    if (o['json']) printJson(st);
    else process.stdout.write(showStatus(st) + '\n');
    if (st.state === 'failed') process.exitCode = 1;
  });

  api(program.command('result').argument('<job>').description("a finished job's result"))
    .option('--out <file>', 'write the full output (primes submitted with --list; life grid)')
    .action(async (id: string, o: Record<string, unknown>) => {
      const c = client(o);
      const r = await c.get<Record<string, unknown>>(`/api/jobs/${encodeURIComponent(id)}/result`);
      if (o['out'] !== undefined) await writeFileFrom(String(o['out']), (out) => c.download(`/api/jobs/${encodeURIComponent(id)}/output`, out));
      if (o['json']) printJson(r);
      else process.stdout.write(formatResult(r) + '\n');
    });

  api(program.command('cancel').argument('<job>').description('cancel a job; every lease returns')).action(async (id: string, o: Record<string, unknown>) => {
    const st = await client(o).post<JobStatus>(`/api/jobs/${encodeURIComponent(id)}/cancel`);
    if (o['json']) printJson(st);
    else process.stdout.write(`job ${st.id} ${st.state}\n`);
  });

  api(program.command('login-url').description('a new one-time dashboard login URL')).action(async (o: Record<string, unknown>) => {
    const t = target(o);
    const { path: p } = await new ApiClient(t).post<{ path: string }>('/api/login-codes');
    const url = t.url + p;
    if (o['json']) printJson({ url });
    else process.stdout.write(url + '\n');
  });

  api(program.command('logout-all').description('end every dashboard session (browsers must log in again)')).action(async (o: Record<string, unknown>) => {
    const { revoked } = await client(o).post<{ revoked: number }>('/api/sessions/revoke');
    if (o['json']) printJson({ revoked });
    else process.stdout.write(`ended ${revoked} dashboard session${revoked === 1 ? '' : 's'}\n`);
  });

  const node = program.command('node').description('one worker node: node clear NAME');
  api(node.command('clear').argument('<name>').description('forget the strikes of a node caught disagreeing; it gets work again')).action(async (name: string, o: Record<string, unknown>) => {
    const { cleared } = await client(o).post<{ cleared: boolean }>(`/api/nodes/${encodeURIComponent(name)}/clear`);
    if (o['json']) printJson({ cleared });
    else process.stdout.write(cleared ? `${name} cleared: it gets work again\n` : `${name} had no strikes\n`);
  });

  api(program.command('nodes').description('list worker nodes')).action(async (o: Record<string, unknown>) => {
    const { nodes } = await client(o).get<{ nodes: { name: string; state: string; remote: string; slots: number; busy: number; telemetry: { temp?: number }; suspect?: boolean; strikes?: number; barred?: boolean }[] }>('/api/nodes');
    if (o['json']) printJson({ nodes });
    else
      process.stdout.write(
        nodes.length === 0
          ? 'no nodes\n'
          : nodes.map((n) => `${n.name.padEnd(24)} ${n.state.padEnd(8)} ${n.remote.padEnd(16)} ${n.busy}/${n.slots} busy  ${n.telemetry.temp === undefined ? '-' : n.telemetry.temp.toFixed(1) + ' °C'}${n.barred ? `  BARRED (${n.strikes} strikes; bramble node clear ${n.name})` : n.suspect ? `  SUSPECT (${n.strikes} strike${n.strikes === 1 ? '' : 's'})` : ''}`).join('\n') + '\n',
      );
  });

  api(program.command('ha').description('high availability: which head candidate leads, the others, the election history')).action(async (o: Record<string, unknown>) => {
    const st = await client(o).get<HaStatus>('/api/ha');
    if (o['json']) return printJson(st);
    const lines = [`leader: ${st.leader ?? '(none: election in progress)'}${st.epoch ? `  epoch ${st.epoch}` : ''}`];
    for (const c of st.candidates) lines.push(`  ${c.name.padEnd(20)} ${c.state.padEnd(8)} ${c.url}  workers ${c.workerAddress}`);
    for (const h of st.history.slice(-5)) lines.push(`  ${new Date(h.at).toISOString()}  ${h.name} elected (epoch ${h.epoch})`);
    process.stdout.write(lines.join('\n') + '\n');
  });
}
