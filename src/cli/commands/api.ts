import type { Command } from 'commander';
import { BrambleError, InputError } from '../../core/index.js';
import type { HaStatus, JobStatus } from '../../head/index.js';
import { findTask, planJob, publicTasks } from '../../tasks/index.js';
import { ApiClient, resolveApi } from '../api-client.js';
import { formatResult } from '../format.js';
import { ProgressBar } from '../progress.js';
import path from 'node:path';
import { anyJobInput, dataDirOf, follow, printJson, rawArgs, taskArgumentHelp, taskOptions, writeFileFrom } from '../shared.js';


/** The commands that talk to a head over its HTTP API: submit, jobs, status, watch, result, cancel, login-url, nodes, ha. */
export function register(program: Command): void {
  // ---- API commands ----
  const api = (cmd: Command): Command =>
    cmd
      .option('--head-url <url>', 'head API, e.g. https://pi-head:7080 (default: from the data dir)')
      .option('--token <token>', 'admin token (default: BRAMBLE_TOKEN, or the data dir)')
      .option('--data <dir>', 'data dir of the head on this machine')
      .option('--json', 'print JSON');
  const target = (o: Record<string, unknown>): ReturnType<typeof resolveApi> =>
    resolveApi({ headUrl: o['headUrl'] as string | undefined, token: o['token'] as string | undefined, data: dataDirOf(o as { data?: string }) });
  const client = (o: Record<string, unknown>): ApiClient => new ApiClient(target(o));

  const showStatus = (st: JobStatus): string => {
    const c = st.chunks;
    const pct = (st.progress * 100).toFixed(1);
    return `${st.id}  ${st.task.padEnd(7)} ${st.state.padEnd(9)} ${pct.padStart(5)}%  ${c.done}/${c.total} done, ${c.leased} leased, ${c.pending} pending, ${c.failed} failed${st.waiting ? `\n  ${st.waiting}` : ''}${st.error ? `\n  ${st.error}` : ''}${st.failedChunks.length ? `\n  failed chunks: ${st.failedChunks.slice(0, 3).map((f) => `${f.index}: ${f.error}`).join('\n  ')}` : ''}`;
  };

  taskOptions(api(program.command('submit').argument('<task>', taskArgumentHelp(publicTasks().map((t) => t.name))).description('submit a job to the head')))
    .option('--wait', 'wait for the job to finish and print its result')
    .option('--workers <n>', 'life: cut the grid in strips over this many worker slots (default: every slot connected)')
    .action(async (task: string, words: string[], o: Record<string, unknown>) => {
      const { workers, ...rest } = o;
      const { input, module, files } = await anyJobInput(task, words, rest, rawArgs(program));
      if (workers !== undefined) {
        if (!findTask(input.task)?.paramInfo.some((p) => p.name === 'parts')) throw new InputError('--workers', `--workers does not apply to task ${task}`);
        input.params = { ...input.params, parts: workers };
      }
      planJob(input); // same validation as the head, before any network
      const c = client(o);
      if (module) {
        const up = await c.putBytes<{ task: string }>(`/api/code?module=${encodeURIComponent(path.basename(module.file))}`, module.bytes);
        if (up.task !== module.task.name) throw new BrambleError('CODE', `the head stored the module as ${up.task}, expected ${module.task.name}`);
      }
      for (const f of files) await c.putBytes('/api/code', f.bytes);
      const st = await c.post<JobStatus>('/api/jobs', { ...input });
      if (!o['wait']) {
        if (o['json']) printJson({ id: st.id, state: st.state, chunks: String(st.chunks.total) });
        else process.stdout.write(`submitted job ${st.id}: ${st.chunks.total} chunk(s)\n`);
        return;
      }
      const end = await follow(() => c.get<JobStatus>(`/api/jobs/${st.id}`), new ProgressBar(process.stderr, o['json'] ? false : undefined), 250);
      if (end.state === 'cancelled') throw new BrambleError('CANCELLED', `job ${st.id} was cancelled`);
      const r = await c.get<Record<string, unknown>>(`/api/jobs/${st.id}/result`);
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

  api(program.command('nodes').description('list worker nodes')).action(async (o: Record<string, unknown>) => {
    const { nodes } = await client(o).get<{ nodes: { name: string; state: string; remote: string; slots: number; busy: number; telemetry: { temp?: number } }[] }>('/api/nodes');
    if (o['json']) printJson({ nodes });
    else
      process.stdout.write(
        nodes.length === 0
          ? 'no nodes\n'
          : nodes.map((n) => `${n.name.padEnd(24)} ${n.state.padEnd(8)} ${n.remote.padEnd(16)} ${n.busy}/${n.slots} busy  ${n.telemetry.temp === undefined ? '-' : n.telemetry.temp.toFixed(1) + ' °C'}`).join('\n') + '\n',
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
