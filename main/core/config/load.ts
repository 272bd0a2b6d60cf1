/**
 * One validated config from four layers: defaults < YAML file < environment < flags. Every error
 * names the key and where it came from, and is a FatalError with the usage exit code (2).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ExitCode, FatalError } from '../protocol/codes.js';
import { ConfigSchema, type AgentConfig, type ConfigInput } from './schema.js';

type Layer = { source: string; values: Record<string, unknown> };

export function readConfigFile(file: string): Layer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let values: unknown;
  try {
    values = parseYaml(text) ?? {};
  } catch (err) {
    throw usage(`config file ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof values !== 'object' || Array.isArray(values))
    throw usage(`config file ${file} must hold a mapping of keys (server, logging, task, monitor)`);
  const layer = { source: `config file ${file}`, values: values as Record<string, unknown> };
  validate([layer]);
  anchorPaths(layer.values, path.dirname(path.resolve(file)));
  return layer;
}

/**
 * A relative path in a config file means a path next to that file, wherever the agent was started
 * (a service starts in `/`); paths typed on the command line or set in the environment stay relative
 * to the current directory, as users expect of any command.
 */
function anchorPaths(values: Record<string, unknown>, dir: string): void {
  const anchor = (v: unknown) => (typeof v === 'string' && v && !path.isAbsolute(v) ? path.resolve(dir, v) : v);
  if ('work_dir' in values) values.work_dir = anchor(values.work_dir);
  const server = values.server as Record<string, unknown> | undefined;
  if (server && 'ca_file' in server) server.ca_file = anchor(server.ca_file);
}

/** Environment variables the agent reads, as a config layer. */
export function environmentLayer(env: NodeJS.ProcessEnv): Layer {
  const values: Record<string, unknown> = {};
  if (env.ATS_AGENT_SERVER_URL) set(values, 'server.url', env.ATS_AGENT_SERVER_URL);
  if (env.ATS_AGENT_LOG_LEVEL) set(values, 'logging.level', env.ATS_AGENT_LOG_LEVEL.toUpperCase());
  if (env.ATS_AGENT_WORK_DIR) set(values, 'work_dir', env.ATS_AGENT_WORK_DIR);
  return { source: 'environment', values };
}

export function flagLayer(values: Record<string, unknown>): Layer {
  const nested: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) set(nested, key, value);
  return { source: 'command line', values: nested };
}

/** Later layers win. */
export function resolveConfig(layers: Layer[]): AgentConfig {
  return validate(layers);
}

function validate(layers: Layer[]): AgentConfig {
  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => deepMerge(acc, layer.values), {});
  const parsed = ConfigSchema.safeParse(merged as ConfigInput);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = describeKey(issue);
  const source =
    [...layers].reverse().find((l) => has(l.values, issue.path))?.source ?? layers.at(-1)?.source ?? 'config';
  throw usage(`${source}: ${key}: ${issue.message}`);
}

function describeKey(issue: z.core.$ZodIssue): string {
  const path = issue.path.join('.');
  if (issue.code === 'unrecognized_keys')
    return `unknown key ${issue.keys.map((k) => (path ? `${path}.${k}` : k)).join(', ')}`;
  return path || '(top level)';
}

function has(values: Record<string, unknown>, path: PropertyKey[]): boolean {
  let node: unknown = values;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || !(key in node)) return path.length === 0;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return true;
}

function set(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function usage(message: string): FatalError {
  return new FatalError('USAGE', message, ExitCode.USAGE);
}

/** Where the token comes from; a file is read again before every connection attempt. */
export type TokenSource = { kind: 'value'; value: string; from: string } | { kind: 'file'; path: string };

export function readToken(source: TokenSource): string {
  if (source.kind === 'value') return source.value;
  let token: string;
  try {
    token = readFileSync(source.path, 'utf8').trim();
  } catch (err) {
    throw usage(
      `cannot read the token file ${source.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (!token) throw usage(`the token file ${source.path} is empty`);
  return token;
}

/** A token file others can read is worth a warning: the token stands for a whole environment. */
export function tokenFileIsExposed(path: string): boolean {
  if (process.platform === 'win32') return false;
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}
